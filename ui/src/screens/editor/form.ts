/**
 * The agent editor's form, without UI: copies and comparison (what counts as
 * an unsaved change), the checks the editor makes before it asks the core to
 * save (the core has the last word: `invalid_input` with a message), the
 * ranges of the numeric settings, and list edits (greetings, lorebook entries).
 */
import type { AgentForm, InstalledModel, LoreEntryForm, SamplingForm } from '../../bindings';

/** A deep, plain copy (the form is plain JSON; `$state` proxies come out as plain objects). */
export function copyForm(form: AgentForm): AgentForm {
  return JSON.parse(JSON.stringify(form)) as AgentForm;
}

function orNull(text: string | null | undefined): string | null {
  return text === undefined || text === null || text === '' ? null : text;
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The form as it is sent and compared: an emptied optional text is `null`
 * (the core stores both the same way), a number field left unreadable is
 * `null` (the default).
 */
export function normalizeForm(form: AgentForm): AgentForm {
  const f = copyForm(form);
  f.nickname = orNull(f.nickname);
  f.chat_template = orNull(f.chat_template);
  f.model = orNull(f.model);
  f.context_length = finiteOrNull(f.context_length);
  f.lorebook.name = orNull(f.lorebook.name);
  f.lorebook.scan_depth = finiteOrNull(f.lorebook.scan_depth);
  f.lorebook.token_budget = finiteOrNull(f.lorebook.token_budget);
  for (const e of f.lorebook.entries) {
    e.name = orNull(e.name);
    e.comment = orNull(e.comment);
    e.insertion_order = finiteOrNull(e.insertion_order) ?? 0;
  }
  for (const key of SAMPLING_KEYS) f.sampling[key] = finiteOrNull(f.sampling[key]);
  return f;
}

/** Whether two forms would save the same agent. */
export function sameForm(a: AgentForm, b: AgentForm): boolean {
  return JSON.stringify(normalizeForm(a)) === JSON.stringify(normalizeForm(b));
}

/** A numeric setting: its range and what empty means. */
export interface NumberSpec {
  label: string;
  min: number;
  max: number;
  step: number;
  integer: boolean;
  /** What the engine uses when the field is empty (shown as "Default (…)"). */
  fallback?: string;
  hint?: string;
}

type NumericSampling = Exclude<keyof SamplingForm, 'stop'>;

/** The numeric sampling fields, in the order shown. */
export const SAMPLING_KEYS: readonly NumericSampling[] = [
  'temperature',
  'top_k',
  'top_p',
  'min_p',
  'repetition_penalty',
  'presence_penalty',
  'frequency_penalty',
  'max_tokens',
  'seed',
];

/** The engine's defaults (familiar-infer `SamplingParams::default`) and sane bounds. */
export const SAMPLING: Record<NumericSampling, NumberSpec> = {
  temperature: {
    label: 'Temperature',
    min: 0,
    max: 2,
    step: 0.05,
    integer: false,
    fallback: '0.8',
    hint: 'Higher is more varied; 0 always takes the most likely word.',
  },
  top_k: {
    label: 'Top-k',
    min: 0,
    max: 1000,
    step: 1,
    integer: true,
    fallback: '40',
    hint: 'Keep the k most likely tokens; 0 keeps them all.',
  },
  top_p: {
    label: 'Top-p',
    min: 0,
    max: 1,
    step: 0.01,
    integer: false,
    fallback: '0.95',
    hint: 'Keep the most likely tokens up to this share of probability; 1 keeps them all.',
  },
  min_p: {
    label: 'Min-p',
    min: 0,
    max: 1,
    step: 0.01,
    integer: false,
    fallback: '0.05',
    hint: 'Drop tokens less likely than this share of the most likely one; 0 turns it off.',
  },
  repetition_penalty: {
    label: 'Repetition penalty',
    min: 1,
    max: 2,
    step: 0.01,
    integer: false,
    fallback: '1.1',
    hint: 'Above 1, repeated tokens are less likely; 1 turns it off.',
  },
  presence_penalty: {
    label: 'Presence penalty',
    min: -2,
    max: 2,
    step: 0.05,
    integer: false,
    fallback: '0',
    hint: 'Above 0, tokens that already appeared are less likely.',
  },
  frequency_penalty: {
    label: 'Frequency penalty',
    min: -2,
    max: 2,
    step: 0.05,
    integer: false,
    fallback: '0',
    hint: 'Above 0, tokens are less likely the more often they appeared.',
  },
  max_tokens: {
    label: 'Longest reply (tokens)',
    min: 1,
    max: 32768,
    step: 1,
    integer: true,
    fallback: '512',
  },
  seed: {
    label: 'Seed',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    step: 1,
    integer: true,
    fallback: '42',
    hint: 'The same seed and settings give the same reply.',
  },
};

export const CONTEXT_LENGTH: NumberSpec = {
  label: 'Context length (tokens)',
  min: 128,
  max: 1_048_576,
  step: 1,
  integer: true,
  fallback: "the model's",
  hint: "Shorter than the model's own context to save memory; empty uses the model's.",
};

export const SCAN_DEPTH: NumberSpec = {
  label: 'Scan depth (messages)',
  min: 0,
  max: 1000,
  step: 1,
  integer: true,
  fallback: 'the engine’s',
  hint: 'How many recent messages are searched for keys.',
};

export const TOKEN_BUDGET: NumberSpec = {
  label: 'Token budget',
  min: 1,
  max: 1_048_576,
  step: 1,
  integer: true,
  fallback: 'no limit of its own',
  hint: 'The most tokens the lorebook’s entries may take in the prompt.',
};

export const INSERTION_ORDER: NumberSpec = {
  label: 'Insertion order',
  min: -1_000_000,
  max: 1_000_000,
  step: 1,
  integer: true,
  hint: 'Lower comes first in the prompt.',
};

/** What is wrong with a number, against its spec; `null` when it is fine (empty is fine: the default). */
export function numberProblem(value: number | null | undefined, spec: NumberSpec): string | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value)) return 'Enter a number, or leave it empty.';
  if (spec.integer && !Number.isInteger(value)) return 'Enter a whole number.';
  if (value < spec.min || value > spec.max) {
    const fmt = (n: number) => n.toLocaleString('en-US');
    return `Choose ${fmt(spec.min)} to ${fmt(spec.max)}.`;
  }
  return null;
}

/** Where a problem is: the field's key (`name`, `sampling.top_p`, `lorebook.entries.2.insertion_order`). */
export type FieldErrors = Record<string, string>;

/** The problems the editor catches before saving; empty when the form can be sent. */
export function validateForm(form: AgentForm): FieldErrors {
  const errors: FieldErrors = {};
  if (form.name.trim() === '') errors.name = 'An agent needs a name.';
  const check = (key: string, value: number | null | undefined, spec: NumberSpec) => {
    const problem = numberProblem(value, spec);
    if (problem) errors[key] = problem;
  };
  for (const key of SAMPLING_KEYS) check(`sampling.${key}`, form.sampling[key], SAMPLING[key]);
  check('context_length', form.context_length, CONTEXT_LENGTH);
  check('lorebook.scan_depth', form.lorebook.scan_depth, SCAN_DEPTH);
  check('lorebook.token_budget', form.lorebook.token_budget, TOKEN_BUDGET);
  form.lorebook.entries.forEach((entry, i) => {
    if (typeof entry.insertion_order !== 'number' || !Number.isFinite(entry.insertion_order)) {
      errors[`lorebook.entries.${i}.insertion_order`] = 'Enter a whole number.';
    } else {
      check(`lorebook.entries.${i}.insertion_order`, entry.insertion_order, INSERTION_ORDER);
    }
    if (entry.use_regex) {
      for (const key of [...entry.keys, ...entry.secondary_keys]) {
        const problem = regexProblem(key);
        if (problem) {
          errors[`lorebook.entries.${i}.keys`] = `“${key}”: ${problem}`;
          break;
        }
      }
    }
  });
  return errors;
}

/** The tab each field lives on, for "fix the marked fields" (the first tab with a problem is opened). */
export function errorTab(key: string): 'persona' | 'lorebook' | 'model' {
  if (key.startsWith('lorebook.')) return 'lorebook';
  if (key.startsWith('sampling.') || key === 'context_length') return 'model';
  return 'persona';
}

/**
 * Whether a regex key reads: `/pattern/flags` or a bare pattern. JavaScript's
 * syntax is close to what the core accepts for common patterns; the core still
 * has the last word.
 */
export function regexProblem(key: string): string | null {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(key);
  const pattern = m ? (m[1] ?? '') : key;
  const flags = m ? (m[2] ?? '') : '';
  try {
    new RegExp(pattern, flags.replace(/[^gimsuy]/g, ''));
    return null;
  } catch (error) {
    return `not a regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** A chat model (not an embedding, speech or voice-cloning model). */
export function isChatModel(model: Pick<InstalledModel, 'arch'>): boolean {
  return !['bert', 'nomic_bert', 'whisper', 'piper', 'ge2e', 'metavoice'].includes(model.arch);
}

/** `items` with the element at `from` moved to `to` (both clamped); the same array when nothing moves. */
export function moveItem<T>(items: T[], from: number, to: number): T[] {
  const last = items.length - 1;
  const a = Math.max(0, Math.min(last, from));
  const b = Math.max(0, Math.min(last, to));
  if (a === b || items.length < 2) return items;
  const out = items.slice();
  const [moved] = out.splice(a, 1);
  out.splice(b, 0, moved as T);
  return out;
}

/** A new lorebook entry, placed after the others. */
export function newLoreEntry(entries: readonly LoreEntryForm[]): LoreEntryForm {
  const orders = entries.map((e) => e.insertion_order).filter((n) => Number.isFinite(n));
  return {
    index: null,
    name: null,
    keys: [],
    secondary_keys: [],
    content: '',
    enabled: true,
    constant: false,
    selective: false,
    case_sensitive: false,
    use_regex: false,
    insertion_order: orders.length > 0 ? Math.max(...orders) + 1 : 100,
    comment: null,
  };
}

/** How an entry is named in the list: its name, else its keys, else its position. */
export function entryTitle(entry: LoreEntryForm, position: number): string {
  const name = entry.name?.trim();
  if (name) return name;
  if (entry.keys.length > 0) return entry.keys.join(', ');
  return `Entry ${position + 1}`;
}

/** Stop strings shown with `\n` and `\t` visible (they cannot be typed in a one-line field). */
export function showEscapes(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

/** The reverse of {@link showEscapes}: `\n` typed in a field becomes a line break. */
export function readEscapes(text: string): string {
  return text.replace(/\\(\\|n|t)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}
