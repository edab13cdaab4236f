// The real studio, opened for one journey: a fresh data folder prepared by
// `familiar setup`, its own tauri-driver (which starts WebKitWebDriver, which
// starts the debug `familiar-studio` binary) and a WebdriverIO session on it.
//
// run.sh builds the binaries, starts Xvfb and sets DISPLAY; these paths come
// from the environment it exports (defaults: the project's cache folders).
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { remote } from 'webdriverio';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A deadline for Promise.race that does not keep Node running once the race is won. */
const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** The repository's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR ?? '/var/cache/familiar/target';
/** The desktop app (debug, with the UI embedded: built by run.sh). */
export const STUDIO = process.env.FAMILIAR_STUDIO ?? join(TARGET, 'debug', 'familiar-studio');
/** The command line, from the same build. */
export const FAMILIAR = process.env.FAMILIAR_BIN ?? join(TARGET, 'debug', 'familiar');
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? join(dirname(TARGET), 'tools', 'bin', 'tauri-driver');

/** Each journey's last screen and log. */
const LAST_RUN = join(ROOT, 'e2e', '.last-run');

/** The passphrase every journey's wallets use (typed in the UI, `FAMILIAR_PASSPHRASE` for the CLI). */
export const PASSPHRASE = 'correct horse battery staple';

/** How long a step may take on a 2-core machine running a debug build. */
export const PATIENCE = Number(process.env.E2E_PATIENCE) || 60_000;

/** The environment the app and the CLI share for one data folder (with `extra` on top). */
function environment(home, extra = {}) {
  return {
    ...process.env,
    FAMILIAR_HOME: home,
    FAMILIAR_PASSPHRASE: PASSPHRASE,
    // Quiet GTK without a session bus: settings in memory, no accessibility bus, no portal.
    GSETTINGS_BACKEND: 'memory',
    NO_AT_BRIDGE: '1',
    GTK_USE_PORTAL: '0',
    // WebKit's compositing, which the studio turns off where there is no GPU (src-tauri/src/main.rs):
    // without it WebKitWebDriver's screenshots hung. A setting of our own is kept by the studio.
    WEBKIT_DISABLE_COMPOSITING_MODE: '0',
    ...extra,
  };
}

/**
 * Runs the `familiar` command line on a data folder; resolves to its stdout
 * (parsed when `--json` is among the arguments).
 */
export async function familiar(home, args, { timeout = 5 * PATIENCE, env = {} } = {}) {
  try {
    const { stdout } = await run(FAMILIAR, args, { env: environment(home, env), timeout, maxBuffer: 64 << 20 });
    return args.includes('--json') ? JSON.parse(stdout) : stdout;
  } catch (error) {
    const stderr = /** @type {{ stderr?: string }} */ (error).stderr ?? '';
    throw new Error(`familiar ${args.join(' ')} failed: ${stderr.trim() || error}`);
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function listening(port, within) {
  const until = Date.now() + within;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A fresh data folder with the sample agents, the bundled models and voices
 * (`familiar setup`, from the model cache).
 */
export async function freshHome(name) {
  const home = await mkdtemp(join(tmpdir(), `familiar-e2e-${name}-`));
  await familiar(home, ['setup']);
  return home;
}

/**
 * @typedef {object} Studio
 * @property {WebdriverIO.Browser} browser the session on the app's webview
 * @property {string} home its data folder
 * @property {(args: string[]) => Promise<any>} cli the command line on the same data folder
 * @property {() => Promise<void>} close ends the session (the app quits), the driver, and the data folder
 */

/**
 * Opens the studio on a fresh data folder (or `home`) and waits for its shell;
 * `env` is added to the environment of the app and of `cli`.
 * @param {string} name what the journey is called (names the data folder)
 * @param {{ home?: string, env?: Record<string, string> }} [options]
 * @returns {Promise<Studio>}
 */
export async function openStudio(name, { home, env = {} } = {}) {
  home ??= await freshHome(name);
  const port = await freePort();
  const nativePort = await freePort();
  // Its own process group: WebKitWebDriver and the app it starts stay in it, so a hung app still ends.
  const driver = spawn(TAURI_DRIVER, ['--port', String(port), '--native-port', String(nativePort)], {
    env: environment(home, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  const keep = (chunk) => {
    log = (log + chunk).slice(-20_000);
  };
  driver.stdout.on('data', keep);
  driver.stderr.on('data', keep);
  const signalGroup = (signal) => {
    try {
      process.kill(-driver.pid, signal);
    } catch {
      // The group is gone.
    }
  };
  const stopDriver = async () => {
    signalGroup('SIGTERM');
    if (driver.exitCode === null && driver.signalCode === null) {
      await Promise.race([new Promise((resolve) => driver.once('exit', resolve)), deadline(5_000)]);
    }
    await sleep(500);
    signalGroup('SIGKILL');
  };

  let browser;
  try {
    // tauri-driver listens at once; the WebKitWebDriver it starts takes a moment longer.
    await listening(port, 20_000);
    await listening(nativePort, 20_000);
    browser = await remote({
      hostname: '127.0.0.1',
      port,
      logLevel: 'error',
      connectionRetryTimeout: 2 * PATIENCE,
      connectionRetryCount: 0,
      // Implicit waits (an element about to appear); slow steps wait explicitly, with PATIENCE.
      waitforTimeout: 15_000,
      capabilities: {
        browserName: 'wry',
        'wdio:enforceWebDriverClassic': true,
        'tauri:options': { application: STUDIO },
      },
    });
    // The shell is up when the sidebar names its screens.
    await browser.$('nav[aria-label="Screens"]').waitForExist({ timeout: PATIENCE });
  } catch (error) {
    await stopDriver();
    throw new Error(`the studio did not open: ${error}\n--- tauri-driver and app log ---\n${log}`);
  }

  const cli = (args) => familiar(home, args, { env });
  return {
    browser,
    home,
    cli,
    async close() {
      // What the window showed last and what the app logged, for a failure's post-mortem (e2e/.last-run/).
      await mkdir(LAST_RUN, { recursive: true });
      await browser.saveScreenshot(join(LAST_RUN, `${name}.png`)).catch(() => {});
      await writeFile(join(LAST_RUN, `${name}.log`), log).catch(() => {});
      // Closing the session closes the window: the app quits as a person's would (it stops the local chain).
      await Promise.race([browser.deleteSession().catch(() => {}), deadline(20_000)]);
      await stopDriver();
      // The app stops the local chain as it quits; after a crash the node would outlive it.
      await familiar(home, ['chain', 'stop']).catch(() => {});
      if (!process.env.E2E_KEEP) await rm(home, { recursive: true, force: true });
    },
  };
}
