import type { Channel } from '@tauri-apps/api/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveSummary, TalkEvent, TalkSettings } from '../../bindings';
import { enterTauri } from '../../test/tauri';
import { DEFAULT_VOICE_PREFS, TalkSession, loadVoicePrefs, saveVoicePrefs, talkSettings } from './talk.svelte';

vi.mock('../../bindings', () => ({
  commands: { startTalk: vi.fn(), talkControl: vi.fn() },
}));

const { commands } = await import('../../bindings');
const startTalk = vi.mocked(commands.startTalk);
const talkControl = vi.mocked(commands.talkControl);

type Result = Awaited<ReturnType<typeof commands.startTalk>>;

let finish: (result: Result) => void;
let events: Channel<TalkEvent>;

const stages = { speech_s: 1, stt_ms: 400, first_token_ms: 300, first_audio_ms: 900, reply_ms: 1500, total_ms: 3000 };
const summary: LiveSummary = { conversation_id: 'c1', turns: 1, interrupted: 0, dropped_blocks: 0 };

beforeEach(() => {
  enterTauri();
  startTalk.mockReset();
  talkControl.mockReset();
  startTalk.mockImplementation((_agent, _settings, _id, channel) => {
    events = channel;
    return new Promise<Result>((resolve) => (finish = resolve));
  });
  talkControl.mockResolvedValue({ status: 'ok', data: null });
});

function session(mode: TalkSettings['mode'], conversation: string | null = 'c1', hooks = {}) {
  return new TalkSession('lena', talkSettings(mode, DEFAULT_VOICE_PREFS, conversation), hooks);
}

const emit = (e: TalkEvent) => events.onmessage(e);

describe('TalkSession', () => {
  it('follows a hands-free turn from listening to speaking and back', async () => {
    const onturn = vi.fn();
    const onready = vi.fn();
    const s = session('hands_free', null, { onturn, onready });
    const done = s.start();
    expect(startTalk).toHaveBeenCalledWith(
      'lena',
      { mode: 'hands_free', microphone: null, speaker: null, barge_in: true, conversation: null },
      s.requestId,
      expect.anything(),
    );
    expect(s.phase).toBe('starting');
    emit({ event: 'ready', conversation_id: 'c9', voice: { engine: 'default', note: null } });
    expect(s.phase).toBe('listening');
    expect(s.conversationId).toBe('c9');
    expect(onready).toHaveBeenCalledWith('c9');
    emit({ event: 'level', db: -20 });
    expect(s.level).toBe(-20);
    emit({ event: 'speech_started' });
    expect(s.phase).toBe('hearing');
    emit({ event: 'partial', text: 'what is' });
    expect(s.partial).toBe('what is');
    emit({ event: 'heard', text: 'What is the time?' });
    expect(s.phase).toBe('thinking');
    expect(s.heard).toBe('What is the time?');
    emit({ event: 'reply', delta: 'It is ' });
    emit({ event: 'reply', delta: 'noon.' });
    emit({ event: 'speaking' });
    expect(s.phase).toBe('speaking');
    emit({ event: 'turn_done', message_id: 'm5', reply: 'It is noon.', stages, interrupted: false });
    expect(s.phase).toBe('listening');
    expect(s.reply.text).toBe('It is noon.');
    expect(s.turns).toBe(1);
    expect(onturn).toHaveBeenCalledWith(expect.objectContaining({ messageId: 'm5', heard: 'What is the time?' }));

    emit({ event: 'speech_started' });
    emit({ event: 'not_heard' });
    expect(s.notHeard).toBe(true);
    expect(s.phase).toBe('listening');

    const stopping = s.stop();
    expect(s.phase).toBe('stopping');
    await vi.waitFor(() => expect(talkControl).toHaveBeenCalledWith(s.requestId, 'stop'));
    finish({ status: 'ok', data: summary });
    await expect(stopping).resolves.toEqual({ ok: true, value: summary });
    await done;
    expect(s.phase).toBe('ended');
    expect(s.summary).toEqual(summary);
    expect(s.error).toBeNull();
  });

  it('marks a barge-in and keeps the user in the next turn', () => {
    const s = session('hands_free');
    s.start();
    emit({ event: 'ready', conversation_id: 'c1', voice: { engine: 'cloned' } });
    emit({ event: 'speech_started' });
    emit({ event: 'heard', text: 'Tell me a story' });
    emit({ event: 'reply', delta: 'Once upon' });
    emit({ event: 'speaking' });
    emit({ event: 'barge_in' });
    emit({ event: 'speech_started' });
    expect(s.bargedIn).toBe(true);
    expect(s.phase).toBe('hearing');
    emit({ event: 'turn_done', message_id: 'm2', reply: 'Once upon', stages, interrupted: true });
    expect(s.phase).toBe('hearing');
    expect(s.lastTurn?.interrupted).toBe(true);
    emit({ event: 'heard', text: 'A short one' });
    expect(s.bargedIn).toBe(false);
    expect(s.phase).toBe('thinking');
  });

  it('presses once ready, and releases', async () => {
    const s = session('push_to_talk');
    s.start();
    s.press();
    expect(s.held).toBe(true);
    expect(talkControl).not.toHaveBeenCalled();
    emit({ event: 'ready', conversation_id: 'c1', voice: { engine: 'default' } });
    expect(talkControl).toHaveBeenCalledWith(s.requestId, 'press');
    emit({ event: 'speech_started' });
    expect(s.phase).toBe('hearing');
    s.release();
    expect(talkControl).toHaveBeenLastCalledWith(s.requestId, 'release');
    expect(s.phase).toBe('transcribing');
    // A press released before the session was ready says nothing to the core.
    const t = session('push_to_talk');
    t.start();
    t.press();
    t.release();
    emit({ event: 'ready', conversation_id: 'c1', voice: { engine: 'default' } });
    expect(talkControl).toHaveBeenCalledTimes(2);
  });

  it('keeps the failure when the core cannot talk (no microphone)', async () => {
    const onend = vi.fn();
    const s = session('hands_free', 'c1', { onend });
    const done = s.start();
    finish({ status: 'error', error: { code: 'no_device', message: 'no input device' } });
    const outcome = await done;
    expect(outcome.ok).toBe(false);
    expect(s.phase).toBe('ended');
    expect(s.error?.code).toBe('no_device');
    expect(onend).toHaveBeenCalledOnce();
    s.handle({ event: 'speaking' });
    expect(s.phase).toBe('ended');
  });

  it('ends at once when it never started', async () => {
    const s = session('hands_free');
    const outcome = await s.stop();
    expect(outcome.ok).toBe(false);
    expect(s.ended).toBe(true);
    expect(talkControl).not.toHaveBeenCalled();
  });
});

describe('voice settings', () => {
  it('are kept, and read back with defaults for what is missing or broken', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(loadVoicePrefs(storage)).toEqual(DEFAULT_VOICE_PREFS);
    saveVoicePrefs({ microphone: 'hw:1', speaker: null, bargeIn: false }, storage);
    expect(loadVoicePrefs(storage)).toEqual({ microphone: 'hw:1', speaker: null, bargeIn: false });
    store.set('familiar.chat.voice', '{not json');
    expect(loadVoicePrefs(storage)).toEqual(DEFAULT_VOICE_PREFS);
    expect(talkSettings('push_to_talk', { microphone: 'm', speaker: 's', bargeIn: false }, 'c')).toEqual({
      mode: 'push_to_talk',
      microphone: 'm',
      speaker: 's',
      barge_in: false,
      conversation: 'c',
    });
  });
});
