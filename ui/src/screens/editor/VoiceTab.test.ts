import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { commands, type Check, type DeviceInfo, type Level, type VoiceProfileInfo } from '../../bindings';
import Toaster from '../../components/Toaster.svelte';
import { pickPaths } from '../../lib/pick';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import { agentCard, fail, ok, resetBindings } from './testing';
import VoiceTab from './VoiceTab.svelte';
import { checkMeasure, pendingDraft, refusedConsent, refusedReference, similarityText } from './voice';

vi.mock('../../bindings', async () => (await import('./testing')).bindings);
vi.mock('../../lib/pick', () => ({ pickPaths: vi.fn(), pickSavePath: vi.fn() }));

const agent = agentCard();
const mic: DeviceInfo = {
  id: 'hw:CARD=USB',
  name: 'USB microphone',
  input: true,
  output: false,
  default_input: true,
  default_output: false,
  sample_rate: 48000,
};
const speaker: DeviceInfo = { ...mic, id: 'default', name: 'Speakers', input: false, output: true, default_input: false, default_output: true };

const checks: Check[] = [
  { name: 'length', passed: true, value: 24.5, limit: 60, fix: null },
  { name: 'speech', passed: true, value: 19.2, limit: 8, fix: null },
  { name: 'noise', passed: true, value: 31, limit: 15, fix: null },
];
const SENTENCE = 'I, the creator of Lena, agree that Lena may speak with my voice. Amber seven harbour.';

function info(overrides: Partial<VoiceProfileInfo> = {}): VoiceProfileInfo {
  return {
    agent: { id: agent.id, name: agent.name },
    profile: null,
    draft: null,
    speaks_with: { engine: 'default', note: null },
    preset: 'joe',
    rate: 1,
    pitch: 0,
    ...overrides,
  };
}

function setup() {
  render(Toaster);
  return render(VoiceTab, { props: { agent, revision: 0 } });
}

/** The level channel of the recording under way. */
function levels(): Channel<Level> {
  const calls = vi.mocked(commands.recordAudio).mock.calls;
  const last = calls[calls.length - 1];
  if (!last) throw new Error('recordAudio was not called');
  return last[3];
}

beforeEach(() => {
  resetBindings();
  enterTauri();
  vi.mocked(commands.voiceProfile).mockResolvedValue(ok(info()));
  vi.mocked(commands.voicePresets).mockResolvedValue([
    { id: 'joe', name: 'Joe', description: 'Warm and clear', engine: 'piper', model: 'en_US-joe-medium', rate: 1, pitch: 0 },
    { id: 'joe-calm', name: 'Joe (calm)', description: 'Slower, lower', engine: 'piper', model: 'en_US-joe-medium', rate: 0.9, pitch: -1 },
  ]);
  vi.mocked(commands.soundDevices).mockResolvedValue(ok([mic, speaker]));
});

afterEach(() => {
  toasts.clear();
  document.body.innerHTML = '';
});

describe('who speaks', () => {
  it('says which voice speaks and why the default one does', async () => {
    vi.mocked(commands.voiceProfile).mockResolvedValue(
      ok(
        info({
          speaks_with: {
            engine: 'default',
            note: 'the agent has a voice profile, but the voice-cloning model (MetaVoice-1B, about 5 GB) is not installed',
          },
        }),
      ),
    );
    setup();
    expect(await screen.findByTestId('speaks-with')).toHaveTextContent('Lena speaks with the default voice');
    expect(screen.getByTestId('speaks-with-note')).toHaveTextContent('the voice-cloning model (MetaVoice-1B, about 5 GB) is not installed');
    expect(screen.getByRole('link', { name: 'Open Models' })).toHaveAttribute('href', '#/models');
  });
});

describe('the default voice', () => {
  const presetField = () => screen.getByRole('combobox', { name: 'Preset' }) as HTMLSelectElement;
  const rateField = () => screen.getByRole('spinbutton', { name: 'Speaking rate' });
  const pitchField = () => screen.getByRole('spinbutton', { name: 'Pitch (semitones)' });

  it('shows the preset, rate and pitch the agent has now', async () => {
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok(info({ preset: 'joe-calm', rate: 0.85, pitch: -1.5 })));
    setup();
    await waitFor(() => expect(rateField()).toHaveValue(0.85));
    expect(pitchField()).toHaveValue(-1.5);
    await waitFor(() => expect(within(presetField()).getAllByRole('option')).toHaveLength(2));
    expect(presetField().value).toBe('joe-calm');
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Back to the current voice' })).toBeDisabled();
  });

  it('shows a preset this studio does not list as the agent’s own', async () => {
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok(info({ preset: 'amy-fast' })));
    setup();
    await waitFor(() => expect(within(presetField()).getAllByRole('option')).toHaveLength(3));
    expect(presetField().value).toBe('amy-fast');
  });

  it('applies a preset, rate and pitch', async () => {
    vi.mocked(commands.setAgentVoice).mockResolvedValue(ok(4));
    setup();
    await waitFor(() => expect(within(presetField()).getAllByRole('option')).toHaveLength(2));
    await waitFor(() => expect(presetField().value).toBe('joe'));
    await userEvent.selectOptions(presetField(), 'joe-calm');
    expect(rateField()).toHaveValue(0.9);
    await userEvent.clear(pitchField());
    await userEvent.type(pitchField(), '-2');
    await userEvent.click(screen.getByRole('button', { name: 'Apply to Lena' }));
    expect(commands.setAgentVoice).toHaveBeenCalledWith('a1b2c3d4', 'joe-calm', 0.9, -2);
    expect(await screen.findByText("Lena's voice settings saved as version 4")).toBeInTheDocument();
    // Saved: nothing left to apply.
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeDisabled();
  });

  it('sends only what changed (the core keeps the rest)', async () => {
    vi.mocked(commands.setAgentVoice).mockResolvedValue(ok(4));
    setup();
    await waitFor(() => expect(rateField()).toHaveValue(1));
    await userEvent.clear(rateField());
    await userEvent.type(rateField(), '1.25');
    await userEvent.click(screen.getByRole('button', { name: 'Apply to Lena' }));
    expect(commands.setAgentVoice).toHaveBeenCalledWith('a1b2c3d4', null, 1.25, null);
  });

  it('follows the agent’s settings when they change, unless they are being edited, and goes back to them', async () => {
    const view = setup();
    await waitFor(() => expect(rateField()).toHaveValue(1));
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok(info({ rate: 1.1 })));
    await view.rerender({ revision: 1 });
    await waitFor(() => expect(rateField()).toHaveValue(1.1));

    await userEvent.clear(pitchField());
    await userEvent.type(pitchField(), '2');
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok(info({ rate: 1.3 })));
    await view.rerender({ revision: 2 });
    await waitFor(() => expect(commands.voiceProfile).toHaveBeenCalledTimes(3));
    // Being edited: kept as typed.
    expect(rateField()).toHaveValue(1.1);
    expect(pitchField()).toHaveValue(2);
    await userEvent.click(screen.getByRole('button', { name: 'Back to the current voice' }));
    expect(rateField()).toHaveValue(1.3);
    expect(pitchField()).toHaveValue(0);
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeDisabled();
  });

  it('refuses a pitch out of range, or an emptied rate, before asking', async () => {
    setup();
    await waitFor(() => expect(pitchField()).toHaveValue(0));
    await userEvent.type(pitchField(), '9');
    expect(screen.getByText('Choose -6 to 6.')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeDisabled();
    await userEvent.clear(pitchField());
    await userEvent.type(pitchField(), '1');
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeEnabled();
    await userEvent.clear(rateField());
    expect(rateField()).toHaveAccessibleDescription(/Enter a number from 0.5 to 2\./);
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeDisabled();
    expect(commands.setAgentVoice).not.toHaveBeenCalled();
  });
});

describe('the voice profile', () => {
  it('records a reference with a live meter, stops early, and shows the checks and the sentence', async () => {
    let finish: (value: { status: 'ok'; data: { out: string; seconds: number; sample_rate: number } }) => void = () => {};
    vi.mocked(commands.recordAudio).mockImplementation(() => new Promise((resolve) => (finish = resolve)));
    vi.mocked(commands.cancelJob).mockResolvedValue(true);
    vi.mocked(commands.importVoiceReference).mockResolvedValue(
      ok({
        agent: { id: agent.id, name: agent.name },
        report: { seconds: 24.5, speech_seconds: 19.2, level_db: -21, noise_db: -52, clipped_share: 0, agreement: 0.8, checks },
        sentence: SENTENCE,
      }),
    );
    setup();
    const step = await screen.findByTestId('reference-step');
    await userEvent.click(within(step).getByRole('button', { name: 'Record your reference' }));
    expect(commands.recordAudio).toHaveBeenCalledWith(null, 60, expect.stringMatching(/^record-/), expect.anything());
    levels().onmessage({ db: -18 });
    const meter = await within(step).findByRole('meter', { name: 'Microphone level' });
    await waitFor(() => expect(meter).toHaveAttribute('aria-valuetext', '−18 dB'));
    expect(within(step).getByRole('img', { name: /Recording so far/ })).toBeInTheDocument();
    levels().onmessage({ db: null });
    await waitFor(() => expect(meter).toHaveAttribute('aria-valuetext', 'silence'));
    await userEvent.click(within(step).getByRole('button', { name: 'Stop recording' }));
    const requestId = vi.mocked(commands.recordAudio).mock.calls[0]?.[2];
    expect(commands.cancelJob).toHaveBeenCalledWith(requestId);
    finish({ status: 'ok', data: { out: '/data/recordings/r1.wav', seconds: 24.5, sample_rate: 16000 } });
    const consent = await screen.findByTestId('consent-step');
    expect(commands.importVoiceReference).toHaveBeenCalledWith('a1b2c3d4', '/data/recordings/r1.wav', null, null);
    expect(within(consent).getByRole('list', { name: 'Checks of the reference recording' })).toHaveTextContent(
      'Length passed — 24.5 s (at most 60 s)',
    );
    expect(within(consent).getByTestId('consent-sentence')).toHaveTextContent(SENTENCE);
  });

  it('checks an imported file, from and to included, and says what to fix when it fails', async () => {
    vi.mocked(pickPaths).mockResolvedValue(['/home/me/long-talk.flac']);
    vi.mocked(commands.importVoiceReference).mockResolvedValue(
      fail('invalid_input', 'this recording cannot become a voice profile: the recording has only 3 s of speech: record at least 8 s'),
    );
    setup();
    const step = await screen.findByTestId('reference-step');
    await userEvent.type(within(step).getByRole('spinbutton', { name: 'From (seconds)' }), '12');
    await userEvent.type(within(step).getByRole('spinbutton', { name: 'To (seconds)' }), '60');
    await userEvent.click(within(step).getByRole('button', { name: 'Choose a file…' }));
    expect(commands.importVoiceReference).toHaveBeenCalledWith('a1b2c3d4', '/home/me/long-talk.flac', 12, 60);
    expect(await within(step).findByRole('heading', { name: 'This recording cannot become a voice profile' })).toBeInTheDocument();
    expect(step).toHaveTextContent('record at least 8 s');
  });

  it('lists every check of a refused recording, what failed and what to do', async () => {
    vi.mocked(pickPaths).mockResolvedValue(['/home/me/noisy.wav']);
    const report = {
      seconds: 14.2,
      speech_seconds: 3.1,
      level_db: -22,
      noise_db: -30,
      clipped_share: 0,
      agreement: null,
      checks: [
        { name: 'length', passed: true, value: 14.2, limit: 60, fix: null },
        { name: 'speech', passed: false, value: 3.1, limit: 8, fix: 'record at least 8 s of speech' },
        { name: 'noise', passed: false, value: 8, limit: 15, fix: 'record in a quieter place' },
      ],
    };
    vi.mocked(commands.importVoiceReference).mockResolvedValue(
      fail('invalid_input', 'this recording cannot become a voice profile: record at least 8 s of speech; record in a quieter place', report),
    );
    setup();
    const step = await screen.findByTestId('reference-step');
    await userEvent.click(within(step).getByRole('button', { name: 'Choose a file…' }));
    const refused = await within(step).findByTestId('reference-refused');
    expect(refused).toHaveAttribute('role', 'alert');
    expect(within(refused).getByRole('heading', { name: 'This recording cannot become a voice profile' })).toBeInTheDocument();
    expect(refused).toHaveTextContent('this one is 0:14 long');
    const items = within(within(refused).getByRole('list', { name: 'Checks of the reference recording' })).getAllByRole('listitem');
    expect(items.map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      '✓ Length passed — 14.2 s (at most 60 s)',
      '✗ Speech failed — 3.1 s of speech (at least 8 s) record at least 8 s of speech',
      '✗ Background noise failed — 8 dB above the background (at least 15 dB) record in a quieter place',
    ]);
    // The list says it all: the core's one-line message is not repeated.
    expect(refused).not.toHaveTextContent('cannot become a voice profile:');
  });

  it('says when there is no microphone, and offers a file instead', async () => {
    vi.mocked(commands.soundDevices).mockResolvedValue(ok([]));
    setup();
    const step = await screen.findByTestId('reference-step');
    await waitFor(() => expect(step).toHaveTextContent('No microphone found.'));
    expect(within(step).queryByRole('button', { name: 'Record your reference' })).toBeNull();
    expect(within(step).getByRole('button', { name: 'Choose a file…' })).toBeInTheDocument();
    expect(await screen.findByText(/No speaker found/)).toBeInTheDocument();
  });

  it('reads the consent sentence: a refusal shows the reasons and lets the creator read again', async () => {
    vi.mocked(commands.voiceProfile).mockResolvedValue(
      ok(info({ draft: { sentence: SENTENCE, report: { seconds: 24.5, checks }, created_at: 1 } })),
    );
    vi.mocked(commands.recordAudio).mockResolvedValue(ok({ out: '/data/recordings/c1.wav', seconds: 6, sample_rate: 16000 }));
    vi.mocked(commands.createVoiceProfile)
      .mockResolvedValueOnce(fail('consent_refused', 'consent not accepted: the words “amber seven harbour” were not heard'))
      .mockResolvedValueOnce(
        ok({
          agent: { id: agent.id, name: agent.name },
          consent: {
            transcript: SENTENCE,
            word_error_rate: 0,
            missing_words: [],
            similarity: 0.86,
            threshold: 0.75,
            accepted: true,
            reasons: [],
          },
          version: 5,
        }),
      );
    const view = setup();
    const consent = await screen.findByTestId('consent-step');
    expect(screen.queryByTestId('reference-step')).toBeNull();
    await userEvent.click(within(consent).getByRole('button', { name: 'Record the read-out' }));
    expect(commands.recordAudio).toHaveBeenCalledWith(null, 30, expect.any(String), expect.anything());
    expect(commands.createVoiceProfile).toHaveBeenCalledWith('a1b2c3d4', '/data/recordings/c1.wav');
    const refused = await within(consent).findByTestId('consent-refused');
    expect(refused).toHaveTextContent('Consent not accepted');
    expect(refused).toHaveTextContent('the words “amber seven harbour” were not heard');
    expect(within(refused).queryByRole('list')).toBeNull();

    vi.mocked(commands.voiceProfile).mockResolvedValue(
      ok(
        info({
          profile: {
            seconds: 24.5,
            fingerprint: { model: 'resemblyzer-ge2e', vector: [] },
            consent: { sentence: SENTENCE, transcript: SENTENCE, word_error_rate: 0, similarity: 0.86, threshold: 0.75, accepted: true, at: 2 },
            created_at: 1_700_000_000,
          },
        }),
      ),
    );
    await userEvent.click(within(consent).getByRole('button', { name: 'Record the read-out' }));
    expect(await screen.findByText("Lena's voice profile is ready (version 5)")).toBeInTheDocument();
    // The shell fires agents-changed; the editor bumps the revision.
    await view.rerender({ revision: 1 });
    expect(await screen.findByTestId('voice-profile')).toHaveTextContent('similarity 0.86 (at least 0.75)');
    expect(screen.queryByTestId('consent-step')).toBeNull();
  });

  it('shows what a refused consent heard, which words were missing, and how alike the voices were', async () => {
    vi.mocked(commands.voiceProfile).mockResolvedValue(
      ok(info({ draft: { sentence: SENTENCE, report: { seconds: 24.5, checks }, created_at: 1 } })),
    );
    vi.mocked(pickPaths).mockResolvedValue(['/home/me/read-out.wav']);
    vi.mocked(commands.createVoiceProfile).mockResolvedValue(
      fail('consent_refused', 'consent not accepted: the words “amber, harbour” were not heard; the voice does not match the reference', {
        transcript: 'I, the creator of Lena, agree that Lena may speak with my voice. Seven.',
        word_error_rate: 0.125,
        missing_words: ['amber', 'harbour'],
        similarity: 0.41,
        threshold: 0.75,
        accepted: false,
        reasons: ['the words “amber, harbour” were not heard', 'the voice does not match the reference'],
      }),
    );
    setup();
    const consent = await screen.findByTestId('consent-step');
    await userEvent.click(within(consent).getByRole('button', { name: 'Choose a file…' }));
    expect(commands.createVoiceProfile).toHaveBeenCalledWith('a1b2c3d4', '/home/me/read-out.wav');
    const refused = await within(consent).findByTestId('consent-refused');
    const reasons = within(refused).getByRole('list', { name: 'Why the consent was not accepted' });
    expect(within(reasons).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'the words “amber, harbour” were not heard',
      'the voice does not match the reference',
    ]);
    const rows = Array.from(refused.querySelectorAll('dl > div'), (row) => [
      row.querySelector('dt')?.textContent,
      row.querySelector('dd')?.textContent,
    ]);
    expect(rows).toEqual([
      ['Heard', '“I, the creator of Lena, agree that Lena may speak with my voice. Seven.”'],
      ['Words not heard', 'amber, harbour'],
      ['Reading', '13% of the words differ from the sentence'],
      ['Same voice', 'similarity 0.41 (at least 0.75)'],
    ]);
    expect(refused).not.toHaveTextContent('consent not accepted:');
  });

  it('removes the profile after asking', async () => {
    vi.mocked(commands.voiceProfile).mockResolvedValue(
      ok(
        info({
          profile: {
            seconds: 20,
            fingerprint: { model: 'resemblyzer-ge2e', vector: [] },
            consent: { sentence: SENTENCE, transcript: SENTENCE, word_error_rate: 0, similarity: 0.9, threshold: 0.75, accepted: true, at: 2 },
            created_at: 1_700_000_000,
          },
          speaks_with: { engine: 'cloned', note: null },
        }),
      ),
    );
    vi.mocked(commands.removeVoiceProfile).mockResolvedValue(ok(6));
    const view = setup();
    expect(await screen.findByTestId('speaks-with')).toHaveTextContent('Lena speaks with the cloned voice of its voice profile.');
    await userEvent.click(screen.getByRole('button', { name: 'Remove the voice profile' }));
    const dialog = await screen.findByRole('alertdialog', { name: "Remove Lena's voice profile?" });
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok(info()));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove the voice profile' }));
    expect(commands.removeVoiceProfile).toHaveBeenCalledWith('a1b2c3d4');
    expect(await screen.findByText("Lena's voice profile was removed (version 6)")).toBeInTheDocument();
    await view.rerender({ revision: 1 });
    expect(await screen.findByTestId('reference-step')).toBeInTheDocument();
  });
});

describe('the preview', () => {
  it('speaks a text in the agent’s voice on the chosen speaker', async () => {
    vi.mocked(commands.previewVoice).mockResolvedValue(ok({ seconds: 2.4, voice: { engine: 'default', note: null } }));
    setup();
    const text = await screen.findByRole('textbox', { name: 'Text to speak' });
    await userEvent.clear(text);
    await userEvent.type(text, 'Mind the stairs.');
    await userEvent.selectOptions(await screen.findByRole('combobox', { name: 'Speaker' }), 'default');
    await userEvent.click(screen.getByRole('button', { name: "Play in Lena's voice" }));
    expect(commands.previewVoice).toHaveBeenCalledWith('a1b2c3d4', 'Mind the stairs.', 'default');
    expect(await screen.findByTestId('preview-result')).toHaveTextContent('Played 0:02 with the default voice.');
  });

  it('says when the speaker cannot be used', async () => {
    vi.mocked(commands.previewVoice).mockResolvedValue(fail('no_device', 'no output device named default'));
    setup();
    await userEvent.click(await screen.findByRole('button', { name: "Play in Lena's voice" }));
    expect(await screen.findByRole('heading', { name: 'No microphone or speaker' })).toBeInTheDocument();
    expect(screen.getByText('no output device named default')).toBeInTheDocument();
  });
});

describe('voice helpers', () => {
  it('reads a pending draft and says what was measured', () => {
    expect(pendingDraft(null)).toBeNull();
    expect(pendingDraft({ sentence: '' })).toBeNull();
    expect(pendingDraft({ sentence: 'Read me.', report: { seconds: 12, checks: [{ name: 'level', passed: false, value: -45, limit: -40, fix: 'speak up' }] } })).toEqual({
      sentence: 'Read me.',
      seconds: 12,
      checks: [{ name: 'level', passed: false, value: -45, limit: -40, fix: 'speak up' }],
    });
    expect(checkMeasure({ name: 'clipping', value: 0.0004, limit: 0.001 })).toBe('0.04% clipped (at most 0.1%)');
    expect(checkMeasure({ name: 'level', value: -45, limit: -40 })).toBe('−45 dB (at least −40 dB)');
    expect(similarityText(0.8612, 0.75)).toBe('similarity 0.86 (at least 0.75)');
    expect(similarityText(0.8, null)).toBe('similarity 0.80');
  });

  it('reads what a refused recording or consent carries, and nothing from other errors', () => {
    const check = { name: 'noise', passed: false, value: 8, limit: 15, fix: 'record in a quieter place' };
    expect(refusedReference({ code: 'invalid_input', data: { seconds: 9, checks: [check, { name: 3 }] } })).toEqual({
      seconds: 9,
      checks: [check],
    });
    expect(refusedReference({ code: 'invalid_input', data: undefined })).toBeNull();
    expect(refusedReference({ code: 'invalid_input', data: 'a string' })).toBeNull();
    expect(refusedReference({ code: 'storage', data: { checks: [check] } })).toBeNull();
    const consent = { transcript: 'hello', word_error_rate: null, missing_words: ['amber', 4], similarity: 0.5, threshold: 0.75, accepted: false, reasons: ['r'] };
    expect(refusedConsent({ code: 'consent_refused', data: consent })).toEqual({ ...consent, missing_words: ['amber'] });
    expect(refusedConsent({ code: 'consent_refused', data: { reasons: [] } })).toBeNull();
    expect(refusedConsent({ code: 'invalid_input', data: consent })).toBeNull();
  });
});
