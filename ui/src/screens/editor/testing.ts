/**
 * For the Library's and the editor's tests: a stand-in for the generated
 * bindings (every command a `vi.fn`, events the test fires), results in the
 * bindings' shape, and agents like the ones the core returns. (Drops:
 * `src/test/drop.ts`.)
 *
 * ```ts
 * vi.mock('../../bindings', async () => (await import('../editor/testing')).bindings);
 * ```
 */
import { vi, type Mock } from 'vitest';
import type { AgentCard, AgentDetail, AgentForm, AgentsChanged, ErrorCode, IpcError, ModelsChanged, Value } from '../../bindings';

export function ok<T>(data: T): { status: 'ok'; data: T } {
  return { status: 'ok', data };
}

/** A failed result; `details` is what the shell attaches for some codes (a refused recording's checks…). */
export function fail(code: ErrorCode, message: string, details?: Value): { status: 'error'; error: IpcError } {
  return { status: 'error', error: details === undefined ? { code, message } : { code, message, details } };
}

type Listener<T> = (event: { event: string; id: number; payload: T }) => void;

function eventOf<T>(name: string, listeners: Set<Listener<T>>) {
  return {
    listen: vi.fn(async (cb: Listener<T>) => {
      listeners.add(cb);
      return () => void listeners.delete(cb);
    }),
    emit(payload: T) {
      for (const cb of Array.from(listeners)) cb({ event: name, id: 0, payload });
    },
  };
}

const fns = new Map<string, Mock>();
const agentsListeners = new Set<Listener<AgentsChanged>>();
const modelsListeners = new Set<Listener<ModelsChanged>>();

/** The mocked module: a command not given a result fails the test's expectations with an `ipc` error. */
export const bindings = {
  commands: new Proxy({} as Record<string, Mock>, {
    get(_, name) {
      if (typeof name !== 'string') return undefined;
      let fn = fns.get(name);
      if (!fn) {
        fn = vi.fn(async () => {
          throw new Error(`commands.${name} was called without a result set by the test`);
        });
        fns.set(name, fn);
      }
      return fn;
    },
  }),
  events: {
    agentsChanged: eventOf('agents-changed', agentsListeners),
    modelsChanged: eventOf('models-changed', modelsListeners),
  },
};

/** Fires `agents-changed` as the shell does after an import, save, delete… */
export function emitAgentsChanged(id: string): void {
  bindings.events.agentsChanged.emit({ id });
}

/** Fires `models-changed`. */
export function emitModelsChanged(id: string): void {
  bindings.events.modelsChanged.emit({ id });
}

/** Forgets results and listeners between tests. */
export function resetBindings(): void {
  for (const fn of fns.values()) fn.mockReset();
  agentsListeners.clear();
  modelsListeners.clear();
}

export function agentForm(overrides: Partial<AgentForm> = {}): AgentForm {
  return {
    name: 'Lena',
    nickname: null,
    description: 'A lighthouse keeper who knows every ship on the coast.',
    personality: 'Calm, precise, dryly funny.',
    scenario: 'A stormy night at the lighthouse.',
    first_mes: 'The lamp is lit. What brings you out in this weather?',
    alternate_greetings: ['Another ship? No — a visitor.'],
    mes_example: '<START>\n{{user}}: Hello\n{{char}}: Mind the stairs.',
    system_prompt: '',
    post_history_instructions: '',
    creator_notes: 'Works best with short messages.',
    creator: 'Familiar samples',
    character_version: '1.0',
    tags: ['sample', 'maritime'],
    lorebook: {
      name: 'The coast',
      scan_depth: 4,
      token_budget: 512,
      entries: [
        {
          index: 0,
          name: 'The lamp',
          keys: ['lamp', 'light'],
          secondary_keys: [],
          content: 'The lamp is a first-order Fresnel lens.',
          enabled: true,
          constant: false,
          selective: false,
          case_sensitive: false,
          use_regex: false,
          insertion_order: 100,
          comment: null,
        },
      ],
    },
    model: null,
    context_length: null,
    chat_template: null,
    sampling: {
      temperature: null,
      top_k: null,
      top_p: null,
      min_p: null,
      repetition_penalty: null,
      presence_penalty: null,
      frequency_penalty: null,
      seed: null,
      max_tokens: null,
      stop: [],
    },
    ...overrides,
  };
}

export function agentCard(overrides: Partial<AgentCard> = {}): AgentCard {
  return {
    id: 'a1b2c3d4',
    name: 'Lena',
    version: 3,
    origin: 'sample:lena',
    summary: 'A lighthouse keeper who knows every ship on the coast.',
    tags: ['sample', 'maritime'],
    avatar: null,
    model: null,
    knowledge: [],
    voice_profile: false,
    created_at: 1_700_000_000,
    updated_at: 1_700_000_500,
    deleted_at: null,
    ...overrides,
  };
}

export function agentDetail(card: Partial<AgentCard> = {}, form: Partial<AgentForm> = {}): AgentDetail {
  const c = agentCard(card);
  return { card: c, form: agentForm({ name: c.name, ...form }) };
}
