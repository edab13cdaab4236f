// A creator gives an agent a knowledge base with one document, then asks it a
// question: the reply comes with its sources, and a source names the document.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStudio, PATIENCE } from '../support/studio.mjs';
import { capture, chooseThrough, eventually, replyTo, seen, texts } from '../support/ui.mjs';

const BASE = 'beacon-manual';
const TITLE = 'The Orbit beacon manual';
const QUESTION = 'How do I reset the sync beacon when it blinks amber?';
const DOCUMENT = 'beacon-manual.md';
const MANUAL = `# The Orbit beacon manual

## Resetting the sync beacon

When the sync beacon blinks amber, hold the blue reset button for nine seconds.
The beacon turns green once the reset is complete, and it resynchronises with the
station clock within two minutes.

## Cleaning the lens

Wipe the beacon's lens with a dry cloth once a month. Never use water on the lens.
`;

describe('an agent answering from a document, with citations', () => {
  /** @type {import('../support/studio.mjs').Studio} */
  let studio;
  let folder;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'familiar-e2e-docs-'));
    await writeFile(join(folder, DOCUMENT), MANUAL);
    studio = await openStudio('knowledge');
  });
  after(async () => {
    await studio?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('creates a knowledge base for Orbit in the editor and adds the document chosen in the file dialog', async () => {
    const { browser } = studio;
    await browser.$('[aria-label="Edit Orbit"]').click();
    await browser.$('[data-testid="editor-agent-name"]').waitForExist({ timeout: PATIENCE });
    await browser.$('[role="tab"]=Knowledge').click();
    await browser.$('[data-testid="field-new-base"]').setValue(BASE);
    await browser.$('button=Create and attach').click();

    const base = await browser.$(`[data-testid="knowledge-base"][data-base="${BASE}"]`);
    await base.waitForExist({ timeout: PATIENCE, timeoutMsg: 'the knowledge base was not created' });
    await chooseThrough(browser, `Drop files or folders to add them to ${BASE}`, join(folder, DOCUMENT));
    const report = await base.$('[data-testid="ingest-report"]');
    await report.waitForExist({ timeout: 3 * PATIENCE, timeoutMsg: 'the document was not read' });
    assert.match(await seen(report), /1 added/);
    assert.match(await seen(report), new RegExp(`${DOCUMENT.replace('.', '\\.')}\\s+added`));
    const documents = await base.$$('[data-testid="kb-document"]');
    assert.equal(documents.length, 1);
    // Attached: the switch says Orbit answers from it.
    const attached = await base.$('[role="switch"]');
    await browser.waitUntil(async () => (await attached.getAttribute('aria-checked')) === 'true', {
      timeout: PATIENCE,
      timeoutMsg: 'the base was not attached to Orbit',
    });
  });

  it('answers a question with sources, one of which names the document', async () => {
    const { browser } = studio;
    await browser.$('[aria-label="Chat with Orbit"]').click();
    await browser.waitUntil(async () => (await seen(browser.$('#chat-with'))) === 'Orbit', {
      timeout: PATIENCE,
      timeoutMsg: 'the chat with Orbit did not open',
    });
    await browser.$('[data-testid="composer-input"]').setValue(QUESTION);
    await browser.$('[data-testid="send-button"]').click();

    const reply = await replyTo(browser, QUESTION);
    await reply.waitForExist({ timeout: 5 * PATIENCE, timeoutMsg: 'no reply was stored' });
    const sources = await reply.$('[data-testid="citations"]');
    await sources.waitForExist({ timeout: PATIENCE, timeoutMsg: 'the reply has no sources' });
    const toggle = await sources.$('button[aria-expanded]');
    assert.match(await seen(toggle), /Sources \(\d+\)/);
    await toggle.click();
    const items = await eventually(
      () => texts(browser, '[data-testid="citations"] li'),
      (list) => list.length > 0,
      'the list of sources',
    );
    const named = items.filter((t) => t.includes(DOCUMENT) || t.includes(TITLE));
    assert.ok(named.length > 0, `a source names the document (sources: ${JSON.stringify(items)})`);
    // The passage it used is the section on resetting the beacon.
    assert.ok(
      named.some((t) => t.includes('Resetting the sync beacon')),
      `a source points to the section on the reset (sources: ${JSON.stringify(named)})`,
    );
    // Opened, a source says where it comes from (the knowledge base and the file) and shows its passage.
    const reset = await sources.$('.//li[.//*[contains(., "Resetting the sync beacon")]]');
    await reset.$('button.item').click();
    assert.match(await seen(reset.$('.source')), new RegExp(`Knowledge base “${BASE}” · ${DOCUMENT.replace('.', '\\.')}`));
    assert.match(await seen(reset.$('blockquote')), /hold the blue reset button for nine seconds/);

    await capture(browser, 'chat', async () => {
      await browser.execute(() => document.querySelector('.thread')?.scrollTo(0, 1e6));
    });
  });
});
