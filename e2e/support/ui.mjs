// What a person does with the studio, in WebDriver terms: open a screen from
// the sidebar, answer the system's file dialog, and photograph a screen once
// its content is painted.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PATIENCE, ROOT } from './studio.mjs';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Where the screenshots go (the README shows them). */
export const SCREENSHOTS = process.env.E2E_SCREENSHOTS ?? join(ROOT, 'docs', 'screenshots');

/**
 * Opens a screen by its link in the sidebar ("Library", "Chat", "Marketplace",
 * "Wallet & network", "Models", "Settings") and waits for its title.
 */
export async function openScreen(browser, title) {
  const link = await browser.$(`nav[aria-label="Screens"]`).$(`a=${title}`);
  await link.click();
  await browser.waitUntil(async () => (await seen(browser.$('#screen-title'))) === title, {
    timeout: PATIENCE,
    timeoutMsg: `the ${title} screen did not open`,
  });
}

/** Resolves after the webview has painted the current DOM (two animation frames). */
export async function nextFrame(browser) {
  await browser.executeAsync((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())));
}

/**
 * Saves a PNG of the window as `docs/screenshots/<name>.png` once `ready`
 * (the screen's content) holds, after the next repaint.
 * @param {WebdriverIO.Browser} browser
 * @param {string} name
 * @param {() => Promise<unknown>} [ready]
 */
export async function capture(browser, name, ready) {
  if (ready) await ready();
  // Notices of what just happened would cover the screen: dismiss them, as a person would.
  const dismiss = 'section[aria-label="Notifications"] li button[aria-label^="Dismiss"]';
  for (let i = 0; i < 10; i++) {
    const buttons = await browser.$$(dismiss);
    if (buttons.length === 0) break;
    await buttons[0].click().catch(() => {});
  }
  await browser.waitUntil(async () => (await browser.$$(dismiss)).length === 0, {
    timeout: 10_000,
    timeoutMsg: 'the notices did not go',
  });
  // Pointer hover and a focus ring left by the last click would show in the picture.
  await browser.execute(() => {
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  });
  await nextFrame(browser);
  await mkdir(SCREENSHOTS, { recursive: true });
  await browser.saveScreenshot(join(SCREENSHOTS, `${name}.png`));
}

async function xdotool(...args) {
  const { stdout } = await run('xdotool', args, { timeout: 30_000 });
  return stdout.trim();
}

async function windowsNamed(title) {
  try {
    return (await xdotool('search', '--onlyvisible', '--name', `^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // xdotool exits 1 when nothing matches
  }
}

/**
 * Answers the system's file dialog (GTK's, opened by the app with the title
 * `title`) with one path, as a person who types a location would: Ctrl+L,
 * the path, Enter. Retries when the dialog was not ready for the keys.
 * @param {string} title the dialog's title
 * @param {string} path an absolute path
 */
export async function chooseInDialog(title, path) {
  const until = Date.now() + PATIENCE;
  let ids = [];
  while ((ids = await windowsNamed(title)).length === 0) {
    if (Date.now() > until) throw new Error(`no file dialog titled "${title}" opened`);
    await sleep(200);
  }
  const id = ids[ids.length - 1];
  for (let attempt = 0; attempt < 4; attempt++) {
    // Give GTK time to lay the dialog out and to load its folder before typing.
    await sleep(800 + attempt * 700);
    await xdotool('windowfocus', '--sync', id);
    await xdotool('key', '--clearmodifiers', 'ctrl+l');
    await sleep(300);
    await xdotool('key', '--clearmodifiers', 'ctrl+a');
    await xdotool('type', '--clearmodifiers', '--delay', '8', path);
    await sleep(300);
    await xdotool('key', '--clearmodifiers', 'Return');
    const closing = Date.now() + 5_000;
    while (Date.now() < closing) {
      if (!(await windowsNamed(title)).includes(id)) return;
      await sleep(200);
    }
  }
  throw new Error(`the file dialog "${title}" did not take ${path}`);
}

/**
 * Polls `read` until `accept(value)` holds; resolves to the value.
 * @template T
 * @param {() => Promise<T>} read
 * @param {(value: T) => boolean} accept
 * @param {string} what what is awaited, for the failure message
 * @param {number} [timeout]
 * @returns {Promise<T>}
 */
export async function eventually(read, accept, what, timeout = PATIENCE) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last seen: ${String(last).slice(0, 500)}`);
    await sleep(150);
  }
}

/**
 * Adds a file through a drop zone's "Choose files…" button and the system's
 * file dialog (what a person who does not drag does). `label` is the zone's
 * label, which is also the dialog's title.
 * @param {WebdriverIO.Browser} browser
 * @param {string} label
 * @param {string} path
 */
export async function chooseThrough(browser, label, path) {
  const zone = await browser.$(`//div[@role="group"][.//p[normalize-space()=${xpathString(label)}]]`);
  await zone.waitForExist({ timeout: PATIENCE, timeoutMsg: `no drop zone "${label}"` });
  const button = await zone.$('button');
  await button.waitForEnabled({ timeout: PATIENCE });
  await button.click();
  await chooseInDialog(label, path);
}

/** A string as an XPath literal. */
export function xpathString(text) {
  if (!text.includes('"')) return `"${text}"`;
  if (!text.includes("'")) return `'${text}'`;
  return `concat(${text
    .split('"')
    .map((part) => `"${part}"`)
    .join(`, '"', `)})`;
}

/**
 * Starts recording every text that the first element matching `selector`
 * shows, with when it showed it (a MutationObserver in the page, so no
 * repaint between two polls is missed).
 */
export async function recordText(browser, selector) {
  await browser.execute((sel) => {
    const all = (window.__e2eTexts ??= {});
    const log = (all[sel] = []);
    const look = () => {
      const el = document.querySelector(sel);
      const text = el ? el.textContent : null;
      if (text !== null && (log.length === 0 || log[log.length - 1].text !== text)) {
        log.push({ at: performance.now(), text });
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    look();
  }, selector);
}

/** What `recordText` saw so far: [{ at, text }]. */
export async function recordedText(browser, selector) {
  return browser.execute((sel) => window.__e2eTexts?.[sel] ?? [], selector);
}

/** The trimmed text of every element matching a CSS selector, read in one step. */
export async function texts(browser, selector) {
  return browser.execute(
    (sel) => Array.from(document.querySelectorAll(sel)).map((el) => (el.textContent ?? '').replace(/\s+/g, ' ').trim()),
    selector,
  );
}

/** An attribute of every element matching a CSS selector. */
export async function attributes(browser, selector, name) {
  return browser.execute(
    (sel, attr) => Array.from(document.querySelectorAll(sel)).map((el) => el.getAttribute(attr)),
    selector,
    name,
  );
}

/**
 * The text an element shows (its innerText, spaces collapsed). WebKitWebDriver's
 * own Get Element Text returns "" for some rendered elements (an <h2> in a flex
 * row, a card's subtitle), so the tests read what the page renders instead.
 * @param {WebdriverIO.Element | ChainablePromiseElement} element
 */
export async function seen(element) {
  const el = await element;
  const text = await el.getProperty('innerText');
  return String(text ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * The stored reply (not the one being written) that follows the user's
 * message `said` in the open conversation.
 */
export function replyTo(browser, said) {
  return browser.$(
    `//li[@data-testid="message"][@data-role="user"][.//*[@data-testid="message-content"][normalize-space()=${xpathString(said)}]]` +
      `/following-sibling::li[@data-testid="message"][@data-role="assistant"][not(@data-streaming)]`,
  );
}
