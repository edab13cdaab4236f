// A studio installed from its .deb, on a machine without `make run`'s model
// cache: nothing is set up, and the default voice and the speaker-fingerprint
// model are downloaded on the Models screen (Piper's voice from the Hub, ONNX
// Runtime and Resemblyzer from PyPI, all served here by a local stand-in),
// after which the default voice speaks.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHub } from '../support/hub.mjs';
import { familiar, openStudio, PATIENCE } from '../support/studio.mjs';
import { capture, openScreen, seen } from '../support/ui.mjs';

/** The model cache `scripts/fetch-models.sh` fills: where the served files come from. */
function modelCache() {
  const candidates = [process.env.FAMILIAR_MODEL_CACHE, '/var/cache/familiar/models', join(homedir(), '.cache/familiar/models')];
  const found = candidates.find((dir) => dir && existsSync(join(dir, 'piper/en_US-joe-medium.onnx')));
  if (!found) throw new Error('no model cache with the Piper voice: run scripts/fetch-models.sh');
  return found;
}

describe('a fresh install downloads the default voice', () => {
  /** @type {import('../support/studio.mjs').Studio} */
  let studio;
  /** @type {import('../support/hub.mjs').Hub} */
  let hub;
  /** What the catalog says is downloaded: the voice's files on the Hub, ONNX Runtime's and Resemblyzer's wheels on PyPI. */
  let voice;
  let speaker;

  before(async () => {
    // An empty data folder, as the installed package starts with: no `familiar setup`.
    const home = await mkdtemp(join(tmpdir(), 'familiar-e2e-fresh-install-'));
    const catalog = await familiar(home, ['models', 'catalog', '--json']);
    ({ default_voice: voice, speaker_model: speaker } = catalog);
    const cache = modelCache();
    const [model, config] = voice.files;
    const wheelName = voice.runtime.path.split('/').pop();
    hub = await startHub([
      { repo: model.repo, path: model.path, file: join(cache, 'piper/en_US-joe-medium.onnx') },
      { repo: config.repo, path: config.path, file: join(cache, 'piper/en_US-joe-medium.onnx.json') },
      { repo: '', path: voice.runtime.path, file: join(cache, 'onnxruntime', wheelName) },
      { repo: '', path: speaker.wheel.path, file: join(cache, 'resemblyzer', speaker.wheel.path.split('/').pop()) },
    ]);
    studio = await openStudio('fresh-install', { home, env: { HF_ENDPOINT: hub.url, FAMILIAR_PYPI_FILES: hub.url } });
  });
  after(async () => {
    await studio?.close();
    await hub?.close();
  });

  it('has no voice yet, and says how to get one', async () => {
    const wav = join(studio.home, 'before.wav');
    await assert.rejects(studio.cli(['voice', 'say', 'Hello.', '--out', wav]), /familiar models pull piper-joe-medium/);
  });

  it('downloads the default voice with ONNX Runtime on the Models screen', async () => {
    const { browser } = studio;
    await openScreen(browser, 'Models');
    await browser.$('[role="tab"]=Voice').click();
    const row = browser.$('[data-testid="catalog-row"][data-target="voice"]');
    assert.match(await seen(row), /piper-joe-medium/);
    assert.match(await seen(browser.$('p*=The default voice speaks')), /runs on ONNX Runtime 1\.32\.0 \(\d+ MB from PyPI\)/);
    await row.$('[data-testid="download-button"]').click();
    const badge = row.$('[data-testid="installed-badge"]');
    await badge.waitForExist({ timeout: 2 * PATIENCE, timeoutMsg: 'the default voice was not installed' });
    assert.match(await seen(badge), /Installed as piper-joe-medium/);
    assert.ok(hub.requests.includes(`/${voice.runtime.path}`), `ONNX Runtime came from PyPI: ${hub.requests}`);
    assert.ok(hub.requests.some((r) => r.startsWith('/rhasspy/piper-voices/resolve/main/')), `${hub.requests}`);
    const installed = await studio.cli(['models', 'list', '--json']);
    assert.deepEqual(installed.map((m) => [m.id, m.arch]), [['piper-joe-medium', 'piper']]);
  });

  it('downloads the speaker-fingerprint model that voice profiles need', async () => {
    const { browser } = studio;
    const row = browser.$('[data-testid="catalog-row"][data-target="speaker_model"]');
    assert.match(await seen(row), /resemblyzer-ge2e/);
    await row.$('[data-testid="download-button"]').click();
    const badge = row.$('[data-testid="installed-badge"]');
    await badge.waitForExist({ timeout: 2 * PATIENCE, timeoutMsg: 'the speaker-fingerprint model was not installed' });
    assert.match(await seen(badge), /Installed as resemblyzer-ge2e/);
    assert.ok(hub.requests.includes(`/${speaker.wheel.path}`), `Resemblyzer came from PyPI: ${hub.requests}`);
    const listed = browser.$('[data-testid="model-row"][data-model="resemblyzer-ge2e"]');
    await listed.waitForExist({ timeout: PATIENCE, timeoutMsg: 'the installed list does not show the speaker model' });
    assert.match(await seen(listed), /PyPI · resemblyzer==0\.1\.4/);
    await capture(browser, 'models-voice');
  });

  it('speaks with the downloaded voice', async () => {
    const said = await studio.cli(['voice', 'say', 'The voice arrived safely.', '--out', join(studio.home, 'said.wav'), '--json']);
    assert.ok(said.seconds > 1 && said.seconds < 5, `${said.seconds} s of speech`);
  });
});
