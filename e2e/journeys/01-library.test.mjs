// The studio opens on the Library, with the sample agents `familiar setup`
// installed; the screens that need nothing else (the editor, models,
// settings) show their content.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStudio, PATIENCE } from '../support/studio.mjs';
import { attributes, capture, eventually, openScreen, seen, texts } from '../support/ui.mjs';

const SAMPLES = ['Ada', 'Bram', 'Lena', 'Orbit'];

/** The names on the Library's agent cards. */
async function agentNames(browser) {
  return (await texts(browser, '[data-testid="agent-card"] h3')).sort();
}

describe('opening the studio', () => {
  /** @type {import('../support/studio.mjs').Studio} */
  let studio;
  before(async () => {
    studio = await openStudio('library');
  });
  after(async () => {
    await studio?.close();
  });

  it('opens on the Library, which shows the sample agents Lena, Orbit, Bram and Ada', async () => {
    const { browser } = studio;
    assert.equal(await seen(browser.$('#screen-title')), 'Library');
    const names = await eventually(() => agentNames(browser), (n) => n.length >= SAMPLES.length, 'the agent cards');
    assert.deepEqual(names, SAMPLES);
    const count = await seen(browser.$('[data-testid="library"] p.count'));
    assert.equal(count, '4 agents');
    await capture(browser, 'library', async () => {
      // The avatars are images: wait until each has loaded.
      await browser.waitUntil(
        () => browser.execute(() => Array.from(document.images).every((img) => img.complete)),
        { timeout: PATIENCE, timeoutMsg: 'the avatars did not load' },
      );
    });
  });

  it('opens an agent in the editor from its card, with its persona', async () => {
    const { browser } = studio;
    await browser.$('[aria-label="Edit Lena"]').click();
    await browser.waitUntil(async () => (await seen(browser.$('#screen-title'))) === 'Agent editor', {
      timeout: PATIENCE,
      timeoutMsg: 'the editor did not open',
    });
    const name = await browser.$('[data-testid="field-name"]');
    await eventually(() => name.getValue(), (v) => v === 'Lena', 'Lena’s name in the form');
    assert.equal(await seen(browser.$('[data-testid="editor-agent-name"]')), 'Lena');
    assert.notEqual(await browser.$('[data-testid="field-description"]').getValue(), '');
    await capture(browser, 'editor');
  });

  it('lists the bundled models on the Models screen', async () => {
    const { browser } = studio;
    await openScreen(browser, 'Models');
    const models = await eventually(
      () => attributes(browser, '[data-testid="model-row"]', 'data-model'),
      (ids) => ids.length >= 2,
      'the installed models',
    );
    assert.ok(models.includes('smollm2-135m-instruct-q4_1'), `the bundled chat model is listed: ${models}`);
    assert.ok(models.includes('all-minilm-l6-v2'), `the embedding model is listed: ${models}`);
    await capture(browser, 'models');
  });

  it('shows the data folder on the Settings screen', async () => {
    const { browser, home } = studio;
    await openScreen(browser, 'Settings');
    const folder = await browser.$('[data-testid="data-folder"]');
    await folder.waitForExist({ timeout: PATIENCE });
    assert.equal(await seen(folder), home);
    await capture(browser, 'settings');
  });
});
