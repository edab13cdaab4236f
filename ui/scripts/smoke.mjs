// Opens the built page in a real Chromium (headless) the two ways a plain
// browser would: from file://, and from a local server that sends Tauri's
// strict CSP (default-src 'self'). Each screen must render the "core is not
// running" state with no CSP violation and no uncaught error.
// Needs `npm run build` first and a Chromium on PATH (or in $CHROMIUM).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const chromium = candidates.find((c) => c && spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!chromium) {
  console.error('smoke: no Chromium found (set CHROMIUM=/path/to/chrome)');
  process.exit(2);
}
if (!existsSync(join(dist, 'index.html'))) {
  console.error('smoke: dist/ is missing; run npm run build first');
  process.exit(2);
}

const CSP = "default-src 'self'";
/** @type {Record<string, string>} */
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(dist, path === '/' ? 'index.html' : path);
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
    });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
/** @type {number} */
const port = await new Promise((resolve) =>
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    resolve(typeof address === 'object' && address ? address.port : 0);
  }),
);

/**
 * The page's DOM after scripts ran, and Chromium's log.
 * @param {string} url
 * @returns {Promise<{ out: string, err: string }>}
 */
function open(url) {
  return new Promise((resolve) => {
    const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-logging=stderr'];
    const child = spawn(/** @type {string} */ (chromium), [...args, '--v=0', '--virtual-time-budget=2000', '--dump-dom', url]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ out, err });
    });
  });
}

const routes = ['', '#/library', '#/agents/lena/voice', '#/chat/lena', '#/market', '#/wallet', '#/models', '#/settings', '#/nowhere'];
const bases = [`file://${join(dist, 'index.html')}`, `http://127.0.0.1:${port}/`];
let failed = 0;
let passed = 0;

for (const base of bases) {
  for (const route of routes) {
    const url = base + route;
    const { out, err } = await open(url);
    const problems = err.split('\n').filter((line) => /CONSOLE|Refused to|Uncaught/i.test(line)).map((l) => l.trim());
    if (!out.includes("The studio's core is not running")) problems.unshift('the "core is not running" state is not shown');
    if (!out.includes('aria-label="Screens"')) problems.unshift('no sidebar');
    if (problems.length > 0) {
      failed += 1;
      console.log(`FAIL ${url}\n  ${problems.join('\n  ')}`);
    } else {
      passed += 1;
      console.log(`ok   ${url}`);
    }
  }
}
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
