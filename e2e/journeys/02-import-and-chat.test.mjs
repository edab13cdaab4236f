// A creator imports a character card (a PNG from another tool) and chats with
// it: the reply streams in, growing as the model writes, and stays.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStudio, PATIENCE, ROOT } from '../support/studio.mjs';
import { chooseThrough, eventually, recordText, recordedText, replyTo, seen } from '../support/ui.mjs';

const CARD = join(ROOT, 'tests', 'fixtures', 'cards', 'st-v3.png'); // SillyTavern's V3 PNG: Sora
const STREAMING = 'li[data-streaming="true"] p.body';
const QUESTION = 'Hello Sora! What are you mapping today?';

describe('importing a card and chatting with it', () => {
  /** @type {import('../support/studio.mjs').Studio} */
  let studio;
  before(async () => {
    studio = await openStudio('import-chat');
  });
  after(async () => {
    await studio?.close();
  });

  it('imports a PNG card chosen in the file dialog, and the Library shows it', async () => {
    const { browser } = studio;
    await browser.$('[data-testid="agent-card"]').waitForExist({ timeout: PATIENCE });
    await chooseThrough(browser, 'Drop character cards anywhere to import them', CARD);
    const outcome = await browser.$('[data-testid="import-outcome"]');
    await outcome.waitForExist({ timeout: PATIENCE, timeoutMsg: 'no import report' });
    assert.equal(await seen(outcome.$('h3')), 'Imported 1 agent');
    assert.match(await seen(outcome), /Sora\s+from st-v3\.png/);
    const sora = await browser.$('//li[@data-testid="agent-card"][.//h3[normalize-space()="Sora"]]');
    await sora.waitForExist({ timeout: PATIENCE });
    assert.match(await seen(sora), /Imported/);
    assert.equal(await seen(browser.$('[data-testid="library"] p.count')), '5 agents');
  });

  it('streams Sora’s reply into the chat, growing as it is written, then keeps it', async () => {
    const { browser } = studio;
    await browser.$('[aria-label="Chat with Sora"]').click();
    await browser.waitUntil(async () => (await seen(browser.$('#chat-with'))) === 'Sora', {
      timeout: PATIENCE,
      timeoutMsg: 'the chat with Sora did not open',
    });
    assert.equal(await seen(browser.$('[data-testid="greeting-preview"]')), 'Hello, User!');

    await recordText(browser, STREAMING);
    await browser.$('[data-testid="composer-input"]').setValue(QUESTION);
    await browser.$('[data-testid="send-button"]').click();

    // The reply is stored once it is complete: then it replaces the one being written.
    const reply = await replyTo(browser, QUESTION);
    await reply.waitForExist({ timeout: 5 * PATIENCE, timeoutMsg: 'no reply was stored' });
    const final = (await seen(reply.$('[data-testid="message-content"]'))).trim();
    assert.notEqual(final, '', 'the reply is not empty');

    // Compared as shown: spaces collapsed, a piece that only added a space is the same piece.
    const pieces = (await recordedText(browser, STREAMING))
      .map((s) => s.text.replace(/\s+/g, ' ').trim())
      .filter((text, i, all) => text !== '' && text !== all[i - 1]);
    assert.ok(pieces.length >= 2, `the reply appeared in more than one piece (saw ${JSON.stringify(pieces)})`);
    for (let i = 1; i < pieces.length; i++) {
      assert.ok(pieces[i].startsWith(pieces[i - 1]) && pieces[i].length > pieces[i - 1].length, 'each piece extends the last');
    }
    assert.ok(final.startsWith(pieces[0]), 'the stored reply is what was streamed');

    const user = await browser.$('li[data-testid="message"][data-role="user"] [data-testid="message-content"]');
    assert.equal(await seen(user), QUESTION);
    const stats = await eventually(
      () => seen(reply.$('[data-testid="reply-stats"]')),
      (t) => t.length > 0,
      'the reply’s model and timings',
    );
    assert.match(stats, /smollm2|tok/i);
  });
});
