// A creator gives an agent their own voice: a reference recording (a WAV
// file), checked; the consent sentence, read aloud and checked against the
// sentence and the reference's voice; the profile is created.
//
// The creator's voice is the default voice (Piper's "joe") speaking through
// the command line: `familiar voice say "<about 50 s of text>" --out ref.wav`,
// then `familiar voice say "<the sentence shown>" --out consent.wav`.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStudio, PATIENCE } from '../support/studio.mjs';
import { chooseThrough, seen, texts } from '../support/ui.mjs';

const REFERENCE = [
  'The lighthouse keeper wrote in her logbook every evening.',
  'She noted the weather, the ships that passed, and the birds that rested on the railing.',
  'In spring the fog came early and stayed late, and the foghorn sounded through the night.',
  'In summer the sea was calm and the visitors came by boat to climb the tower.',
  'She told them how the lamp was cleaned, how the lens turned, and how the light could be seen twenty miles away.',
  'In autumn the storms arrived, and she checked the windows twice a day.',
  'In winter the island was quiet, and she read old letters by the stove.',
  'Every year she planted tomatoes in the small garden behind the house, and every year the wind tried to take them.',
  'She kept a cat named Pepper, who slept on the warm stones near the lamp room.',
  'On clear nights she climbed to the gallery and counted the lights of the fishing boats.',
  'The keeper said that the sea was never the same two days in a row, and that was why she loved it.',
].join(' ');

/**
 * Adds the quiet a microphone records around speech (0.5 s before, 1 s after)
 * to a 16-bit mono WAV from `familiar voice say`, which ends on the last word.
 * Whisper tiny.en sometimes repeats a clip's last sentence when the audio stops
 * dead on it (reported: the consent check then refuses an exact read-out).
 */
async function withRoomTone(path) {
  const wav = await readFile(path);
  const rate = wav.readUInt32LE(24);
  const channels = wav.readUInt16LE(22);
  const bits = wav.readUInt16LE(34);
  assert.equal(bits, 16, 'a 16-bit WAV');
  let offset = 12;
  while (wav.toString('ascii', offset, offset + 4) !== 'data') offset += 8 + wav.readUInt32LE(offset + 4);
  const data = wav.subarray(offset + 8, offset + 8 + wav.readUInt32LE(offset + 4));
  const frame = channels * 2;
  const before = Buffer.alloc(Math.round(rate * 0.5) * frame);
  const afterwards = Buffer.alloc(Math.round(rate * 1.0) * frame);
  const body = Buffer.concat([before, data, afterwards]);
  const header = Buffer.from(wav.subarray(0, offset + 8));
  header.writeUInt32LE(header.length - 8 + body.length, 4);
  header.writeUInt32LE(body.length, offset + 4);
  await writeFile(path, Buffer.concat([header, body]));
}

describe('a voice profile from a recording, with consent', () => {
  /** @type {import('../support/studio.mjs').Studio} */
  let studio;
  let folder;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'familiar-e2e-voice-'));
    studio = await openStudio('voice');
    await studio.cli(['voice', 'say', REFERENCE, '--out', join(folder, 'ref.wav')]);
  });
  after(async () => {
    await studio?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('checks the reference recording and shows the consent sentence to read', async () => {
    const { browser } = studio;
    await browser.$('[aria-label="Edit Bram"]').click();
    await browser.$('[data-testid="editor-agent-name"]').waitForExist({ timeout: PATIENCE });
    await browser.$('[role="tab"]=Voice').click();
    await browser.$('[data-testid="reference-step"]').waitForExist({ timeout: PATIENCE });

    await chooseThrough(browser, 'Or use a recording you have', join(folder, 'ref.wav'));
    const consent = await browser.$('[data-testid="consent-step"]');
    await consent.waitForExist({ timeout: 3 * PATIENCE, timeoutMsg: 'the reference was not accepted' });
    const checks = await texts(browser, 'ul[aria-label="Checks of the reference recording"] > li');
    assert.ok(checks.length >= 4, `the checks are listed: ${JSON.stringify(checks)}`);
    for (const check of checks) assert.match(check, /^✓ .* passed/);
    assert.match(await seen(consent), /Your reference \([^)]+\) passed\. Now read this sentence aloud/);
    const sentence = await seen(consent.$('[data-testid="consent-sentence"]'));
    assert.match(sentence, /This is my own voice, and I agree that Bram may speak with it\./);
  });

  it('creates the profile once the sentence is read back in the same voice', async () => {
    const { browser } = studio;
    const sentence = await seen(browser.$('[data-testid="consent-sentence"]'));
    const profile = await browser.$('[data-testid="voice-profile"]');
    const refused = await browser.$('[data-testid="consent-step"] [role="alert"]');
    // Speech recognition now and then mishears two of the challenge words in the default voice's
    // random delivery (1 read-out in 60); the creator then reads it again, as here. Two refusals fail.
    let refusal = '';
    for (let reading = 1; ; reading++) {
      const readOut = join(folder, `consent-${reading}.wav`);
      await studio.cli(['voice', 'say', sentence, '--out', readOut]);
      await withRoomTone(readOut);
      await chooseThrough(browser, 'Or use a recording of the read-out', readOut);
      const previous = refusal;
      await browser.waitUntil(
        async () =>
          (await profile.isExisting()) || ((await refused.isExisting()) && (await seen(refused)) !== previous),
        { timeout: 3 * PATIENCE, timeoutMsg: 'the voice profile was not created, nor the read-out refused' },
      );
      if (await profile.isExisting()) break;
      refusal = await seen(refused);
      if (reading === 2) assert.fail(`the read-out was refused twice, last: ${refusal}`);
    }
    const text = await seen(profile);
    assert.ok(text.includes(`“${sentence}”`), 'the profile shows the consent sentence');
    assert.match(text, /Heard\s+“This is my own voice/);
    assert.match(text, /similarity \d\.\d\d \(at least \d\.\d\d\)/);
  });

  it('shows the profile on Bram’s card in the Library', async () => {
    const { browser } = studio;
    await browser.$('nav[aria-label="Screens"]').$('a=Library').click();
    const bram = await browser.$('//li[@data-testid="agent-card"][.//h3[normalize-space()="Bram"]]');
    await bram.waitForExist({ timeout: PATIENCE });
    await browser.waitUntil(async () => (await seen(bram)).includes('Voice profile'), {
      timeout: PATIENCE,
      timeoutMsg: 'Bram’s card does not show the voice profile',
    });
  });
});
