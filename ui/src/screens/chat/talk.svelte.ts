/**
 * One live voice session with an agent (`start_talk`): push-to-talk (the
 * microphone button, or Space, held) or a hands-free call. The core streams
 * {@link TalkEvent}s in order; {@link TalkSession.handle} turns them into
 * what the screen shows: the phase (listening, the user speaking, the agent
 * thinking or speaking), the microphone level, the live transcript, the
 * reply as it is written, a barge-in, and each turn's latency.
 *
 * The session ends when `talk_control(stop)` is sent (or the core fails, e.g.
 * without a microphone): `start_talk` then resolves, and {@link TalkSession.done}
 * with it.
 */
import { commands, type LiveStages, type LiveSummary, type TalkAction, type TalkEvent, type TalkMode, type TalkSettings, type VoiceChoice } from '../../bindings';
import { AppError, attempt, channel, toAppError, type Outcome } from '../../lib/ipc';
import { TextStream } from '../../lib/stream.svelte';
import { newRequestId } from './model';

/**
 * Where a session stands:
 * - `starting`: devices and models are loading;
 * - `listening`: waiting for the user (hands-free), or for the button (push-to-talk);
 * - `hearing`: the user is speaking;
 * - `transcribing`: the user stopped (released the button); speech to text is running;
 * - `thinking`: the transcript is in, the reply is being written;
 * - `speaking`: the agent's voice is playing;
 * - `stopping`: stop was asked for;
 * - `ended`: over (see {@link TalkSession.error} and {@link TalkSession.summary}).
 */
export type TalkPhase = 'starting' | 'listening' | 'hearing' | 'transcribing' | 'thinking' | 'speaking' | 'stopping' | 'ended';

/** A finished turn, as the screen shows it. */
export interface TalkTurn {
  messageId: string;
  heard: string;
  reply: string;
  stages: LiveStages;
  interrupted: boolean;
}

export interface TalkHooks {
  /** Devices and models are ready; the turns go into this conversation. */
  onready?: (conversationId: string) => void;
  /** A turn was stored. */
  onturn?: (turn: TalkTurn) => void;
  /** The session is over. */
  onend?: (outcome: Outcome<LiveSummary>) => void;
}

export class TalkSession {
  readonly agent: string;
  readonly mode: TalkMode;
  readonly settings: TalkSettings;
  readonly requestId = newRequestId();

  /** The conversation the turns go into (known at once when one was open, else from `ready`). */
  conversationId = $state<string | null>(null);
  phase = $state<TalkPhase>('starting');
  /** The microphone's level in dBFS; none before the first reading and after the end. */
  level = $state<number | null>(null);
  /** What the user has said so far in this turn. */
  partial = $state('');
  /** What the user said, once the turn ended. */
  heard = $state('');
  /** The agent's reply to it, as it is written. */
  readonly reply = new TextStream();
  /** Which voice speaks, and why (a note when the default speaks for an agent with a profile). */
  voice = $state<VoiceChoice | null>(null);
  /** The user spoke over the agent in the current turn. */
  bargedIn = $state(false);
  /** The last thing said was not recognised. */
  notHeard = $state(false);
  /** The talk button is held (push-to-talk). */
  held = $state(false);
  /** The last finished turn. */
  lastTurn = $state<TalkTurn | null>(null);
  turns = $state(0);
  /** Why the session ended, when it failed. */
  error = $state<AppError | null>(null);
  summary = $state<LiveSummary | null>(null);

  #ready = false;
  #pressPending = false;
  #pressed = false;
  #done: Promise<Outcome<LiveSummary>> | null = null;
  readonly #hooks: TalkHooks;

  constructor(agent: string, settings: TalkSettings, hooks: TalkHooks = {}) {
    this.agent = agent;
    this.mode = settings.mode;
    this.settings = settings;
    this.conversationId = settings.conversation;
    this.#hooks = hooks;
  }

  /** Whether the session is over. */
  get ended(): boolean {
    return this.phase === 'ended';
  }

  /** Whether a turn is under way (the user speaking, or the agent answering). */
  get busy(): boolean {
    return ['hearing', 'transcribing', 'thinking', 'speaking'].includes(this.phase);
  }

  /** Starts the session; the returned promise (also {@link done}) settles when it is over. */
  start(): Promise<Outcome<LiveSummary>> {
    if (this.#done) return this.#done;
    let run: Promise<Outcome<LiveSummary>>;
    try {
      const events = channel<TalkEvent>((event) => this.handle(event));
      run = attempt(() => commands.startTalk(this.agent, this.settings, this.requestId, events));
    } catch (error) {
      run = Promise.resolve({ ok: false, error: toAppError(error) });
    }
    this.#done = run.then((outcome) => {
      this.#finish(outcome);
      return outcome;
    });
    return this.#done;
  }

  /** Settles when the session is over (at once when it never started). */
  get done(): Promise<Outcome<LiveSummary>> {
    return this.#done ?? Promise.resolve({ ok: false, error: new AppError('cancelled', 'the talk was not started') });
  }

  /** One event from the core. */
  handle(event: TalkEvent): void {
    if (this.ended) return;
    switch (event.event) {
      case 'ready':
        this.#ready = true;
        this.conversationId = event.conversation_id;
        this.voice = event.voice;
        if (this.phase === 'starting') this.phase = 'listening';
        if (this.#pressPending) {
          this.#pressPending = false;
          this.#send('press');
        }
        this.#hooks.onready?.(event.conversation_id);
        break;
      case 'level':
        this.level = event.db;
        break;
      case 'speech_started':
        this.partial = '';
        this.notHeard = false;
        if (this.phase !== 'stopping') {
          // A push-to-talk press so short that the button is up again already.
          this.phase = this.mode === 'push_to_talk' && !this.held ? 'transcribing' : 'hearing';
        }
        break;
      case 'partial':
        this.partial = event.text;
        break;
      case 'heard':
        this.heard = event.text;
        this.partial = '';
        this.bargedIn = false;
        this.reply.start();
        if (this.phase !== 'stopping') this.phase = 'thinking';
        break;
      case 'reply':
        this.reply.append(event.delta);
        break;
      case 'speaking':
        if (this.phase !== 'stopping') this.phase = 'speaking';
        break;
      case 'barge_in':
        this.bargedIn = true;
        this.reply.finish();
        break;
      case 'turn_done': {
        const turn: TalkTurn = {
          messageId: event.message_id,
          heard: this.heard,
          reply: event.reply,
          stages: event.stages,
          interrupted: event.interrupted,
        };
        this.lastTurn = turn;
        this.turns += 1;
        if (!this.bargedIn) this.reply.set(event.reply);
        // After a barge-in the user is already in the next turn: that phase stays.
        if (this.phase === 'thinking' || this.phase === 'speaking') this.phase = 'listening';
        this.#hooks.onturn?.(turn);
        break;
      }
      case 'not_heard':
        this.notHeard = true;
        this.partial = '';
        if (this.phase !== 'stopping') this.phase = 'listening';
        break;
    }
  }

  /** The talk button goes down (push-to-talk; over the agent's voice, a barge-in). */
  press(): void {
    if (this.mode !== 'push_to_talk' || this.ended || this.phase === 'stopping' || this.held) return;
    this.held = true;
    this.notHeard = false;
    if (this.#ready) this.#send('press');
    else this.#pressPending = true;
  }

  /** The talk button comes up: the turn is over. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.#pressPending) {
      // Released before the session was ready: nothing was said.
      this.#pressPending = false;
      return;
    }
    if (this.#pressed) this.#send('release');
    if (this.phase === 'hearing') this.phase = 'transcribing';
  }

  /** Ends the session; settles when it is over. */
  async stop(): Promise<Outcome<LiveSummary>> {
    if (!this.#done) {
      this.phase = 'ended';
      return this.done;
    }
    if (!this.ended && this.phase !== 'stopping') {
      this.phase = 'stopping';
      this.held = false;
      this.#pressPending = false;
      // Refused only when the core already let the talk go: it has ended or is ending.
      await attempt(() => commands.talkControl(this.requestId, 'stop'));
    }
    return this.#done;
  }

  #send(action: Exclude<TalkAction, 'stop'>): void {
    this.#pressed = action === 'press';
    void attempt(() => commands.talkControl(this.requestId, action)).then((outcome) => {
      if (!outcome.ok && !this.ended && this.phase !== 'stopping') {
        // The core lost the talk (it ended on its side): the end comes with start_talk's answer.
        this.held = false;
      }
    });
  }

  #finish(outcome: Outcome<LiveSummary>): void {
    this.phase = 'ended';
    this.held = false;
    this.level = null;
    this.reply.finish();
    if (outcome.ok) this.summary = outcome.value;
    else if (outcome.error.code !== 'cancelled') this.error = outcome.error;
    this.#hooks.onend?.(outcome);
  }
}

/** The voice settings the chat starts a talk with, kept for the next time. */
export interface VoicePrefs {
  /** A microphone id; none: the system's default. */
  microphone: string | null;
  /** A speaker id; none: the system's default. */
  speaker: string | null;
  /** Let the user interrupt the agent by speaking over it. */
  bargeIn: boolean;
}

const PREFS_KEY = 'familiar.chat.voice';
export const DEFAULT_VOICE_PREFS: VoicePrefs = { microphone: null, speaker: null, bargeIn: true };

/** The saved voice settings, or the defaults. */
export function loadVoicePrefs(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): VoicePrefs {
  try {
    const raw = storage?.getItem(PREFS_KEY);
    if (!raw) return { ...DEFAULT_VOICE_PREFS };
    const v = JSON.parse(raw) as Partial<Record<keyof VoicePrefs, unknown>>;
    return {
      microphone: typeof v.microphone === 'string' ? v.microphone : null,
      speaker: typeof v.speaker === 'string' ? v.speaker : null,
      bargeIn: typeof v.bargeIn === 'boolean' ? v.bargeIn : true,
    };
  } catch {
    return { ...DEFAULT_VOICE_PREFS };
  }
}

/** Keeps the voice settings for the next time (nothing happens where storage is unavailable). */
export function saveVoicePrefs(prefs: VoicePrefs, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // Private mode or a full quota: the settings last until the app closes.
  }
}

/** The settings `start_talk` takes. */
export function talkSettings(mode: TalkMode, prefs: VoicePrefs, conversation: string | null): TalkSettings {
  return { mode, microphone: prefs.microphone, speaker: prefs.speaker, barge_in: prefs.bargeIn, conversation };
}
