/**
 * The chat screen's view of the bindings' DTOs: what a stored reply says
 * about itself (model, speed, why it stopped, its sources), the greetings a
 * conversation can open with, and a live turn's latency, in words.
 *
 * No UI here, and nothing that calls the core: everything is a pure function
 * of what the core returned, so it is tested on its own.
 */
import type { AgentCard, AgentForm, ChatMessage, Citation, LiveStages, ReplyReport, StopReason, Value } from '../../bindings';
import type { CitationItem } from '../../components/types';

/** A fresh id for a request that can be stopped (`cancel_job`, `talk_control`). */
export function newRequestId(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The agent a route names: by id, else by name (any case), as the core resolves it. */
export function findAgent(agents: readonly AgentCard[], query: string): AgentCard | undefined {
  const lower = query.toLowerCase();
  return agents.find((a) => a.id === query) ?? agents.find((a) => a.name.toLowerCase() === lower);
}

function record(value: Value | null | undefined): Record<string, Value> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
}

function num(value: Value | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** What the core stores in a reply's `timings` (all optional: older replies and greetings have less). */
export interface ReplyTimings {
  promptTokens?: number;
  reusedTokens?: number;
  generatedTokens?: number;
  prefillMs?: number;
  firstTokenMs?: number;
  decodeMs?: number;
  tokensPerSecond?: number;
  stop?: StopReason;
}

function stopReason(value: Value | undefined): StopReason | undefined {
  if (value === 'end_of_turn' || value === 'max_tokens' || value === 'context_full' || value === 'cancelled') {
    return value;
  }
  const r = record(value);
  if (r && typeof r.stop_string === 'string') return { stop_string: r.stop_string };
  return undefined;
}

/** A stored reply's timings, or none when it has none (a greeting, an edit). */
export function parseTimings(value: Value | null | undefined): ReplyTimings | null {
  const r = record(value);
  if (!r) return null;
  const t: ReplyTimings = {};
  const set = <K extends keyof ReplyTimings>(key: K, v: ReplyTimings[K] | undefined) => {
    if (v !== undefined) t[key] = v;
  };
  set('promptTokens', num(r.prompt_tokens));
  set('reusedTokens', num(r.reused_tokens));
  set('generatedTokens', num(r.generated_tokens));
  set('prefillMs', num(r.prefill_ms));
  set('firstTokenMs', num(r.first_token_ms));
  set('decodeMs', num(r.decode_ms));
  set('tokensPerSecond', num(r.tokens_per_second));
  set('stop', stopReason(r.stop));
  return Object.keys(t).length > 0 ? t : null;
}

/** `420 ms`, `1.2 s`, `12 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
}

/** The line under a reply: `qwen2.5-0.5b · 23.4 tokens/s · first token 420 ms`. */
export function replyStats(message: Pick<ChatMessage, 'model' | 'timings'>): string | null {
  const t = parseTimings(message.timings);
  const parts: string[] = [];
  if (message.model) parts.push(message.model);
  if (t?.tokensPerSecond !== undefined && t.tokensPerSecond > 0) parts.push(`${t.tokensPerSecond.toFixed(1)} tokens/s`);
  if (t?.firstTokenMs !== undefined && t.firstTokenMs > 0) parts.push(`first token ${formatMs(t.firstTokenMs)}`);
  return parts.length > 0 ? parts.join(' · ') : null;
}

/** The same, in full, for a tooltip: tokens in and out, reuse, prefill and decode times. */
export function replyDetails(message: Pick<ChatMessage, 'timings'>): string | null {
  const t = parseTimings(message.timings);
  if (!t) return null;
  const parts: string[] = [];
  if (t.generatedTokens !== undefined) parts.push(`${t.generatedTokens} tokens written`);
  if (t.promptTokens !== undefined) {
    const reused = t.reusedTokens ? ` (${t.reusedTokens} reused)` : '';
    parts.push(`prompt ${t.promptTokens} tokens${reused}`);
  }
  if (t.prefillMs !== undefined) parts.push(`prompt read in ${formatMs(t.prefillMs)}`);
  if (t.decodeMs !== undefined) parts.push(`written in ${formatMs(t.decodeMs)}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** Why a reply ended, when it is worth saying (not for a normal end). */
export function stopNote(stop: StopReason | undefined): string | null {
  switch (stop) {
    case 'cancelled':
      return 'Stopped';
    case 'max_tokens':
      return 'Cut off at the length limit';
    case 'context_full':
      return 'Cut off: the conversation fills the model’s context';
    default:
      return null;
  }
}

function isCitation(value: Value): value is Value & Citation {
  const r = record(value);
  return (
    r !== null &&
    typeof r.n === 'number' &&
    typeof r.base === 'string' &&
    typeof r.document === 'string' &&
    typeof r.location === 'string'
  );
}

/** The sources stored with a reply (`ChatMessage.citations`), as the core wrote them. */
export function parseCitations(value: Value | null | undefined): Citation[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isCitation) as unknown as Citation[];
}

function scoreLine(c: Citation): string | null {
  const s = record(c.scores as unknown as Value);
  if (!s) return null;
  const parts: string[] = [];
  const bm25 = num(s.bm25_rank);
  const vector = num(s.vector_rank);
  const similarity = num(s.vector);
  if (bm25 !== undefined) parts.push(`keyword match #${bm25}`);
  if (vector !== undefined) {
    parts.push(`meaning match #${vector}${similarity !== undefined ? ` (similarity ${similarity.toFixed(2)})` : ''}`);
  }
  return parts.length > 0 ? parts.join(', ') : null;
}

/** A source for {@link CitationList}: the document, where in it, where it came from and why, and the start of its passage. */
export function citationItem(c: Citation): CitationItem {
  const title = c.title && c.title.trim() !== '' ? c.title : c.document;
  const where = [`Knowledge base “${c.base}”`, title === c.document ? null : c.document, c.path || null]
    .filter((p): p is string => Boolean(p))
    .join(' · ');
  const scores = scoreLine(c);
  const item: CitationItem = {
    id: `${c.base}:${c.chunk_id}:${c.n}`,
    n: c.n,
    title,
    location: c.location,
    source: scores ? `${where} — ${scores}` : where,
    cited: c.cited,
  };
  // Replies stored before citations carried their passage have none.
  const excerpt = typeof c.excerpt === 'string' ? c.excerpt.trim() : '';
  if (excerpt !== '') item.excerpt = excerpt;
  return item;
}

/** A greeting a new conversation can open with: 0 is the first message, 1… the alternates. */
export interface GreetingChoice {
  index: number;
  label: string;
  /** The text, with `{{char}}` and `{{user}}` filled in as the core fills them. */
  text: string;
}

/** `{{char}}` → the agent's name, `{{user}}` → the user's (any case, as cards write them). */
export function fillNames(text: string, char: string, user = 'User'): string {
  return text.replace(/\{\{char\}\}/gi, char).replace(/\{\{user\}\}/gi, user);
}

/** The greetings of an agent's form (none when it has no first message and no alternates). */
export function greetingChoices(form: Pick<AgentForm, 'name' | 'nickname' | 'first_mes' | 'alternate_greetings'>): GreetingChoice[] {
  const char = form.nickname && form.nickname.trim() !== '' ? form.nickname : form.name;
  const out: GreetingChoice[] = [];
  if (form.first_mes.trim() !== '') out.push({ index: 0, label: 'First message', text: fillNames(form.first_mes, char) });
  form.alternate_greetings.forEach((text, i) => {
    if (text.trim() !== '') out.push({ index: i + 1, label: `Alternate greeting ${i + 1}`, text: fillNames(text, char) });
  });
  return out;
}

/** A live turn's latency in words: `heard in 420 ms · first token 310 ms · first audio 1.2 s · turn 4.5 s`. */
export function stagesText(stages: LiveStages): string {
  const parts = [`heard in ${formatMs(stages.stt_ms)}`];
  if (stages.first_token_ms > 0) parts.push(`first token ${formatMs(stages.first_token_ms)}`);
  if (stages.first_audio_ms > 0) parts.push(`first audio ${formatMs(stages.first_audio_ms)}`);
  parts.push(`turn ${formatMs(stages.total_ms)}`);
  return parts.join(' · ');
}

/** `14:03` today, `3 Mar, 14:03` this year, `3 Mar 2024` before. */
export function formatWhen(unixSeconds: number, now: Date = new Date()): string {
  const at = new Date(unixSeconds * 1000);
  if (Number.isNaN(at.getTime())) return '';
  const time = at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  if (at.toDateString() === now.toDateString()) return time;
  if (at.getFullYear() === now.getFullYear()) {
    return `${at.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })}, ${time}`;
  }
  return at.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

/** The full date and time, for a tooltip. */
export function formatFullDate(unixSeconds: number): string {
  const at = new Date(unixSeconds * 1000);
  return Number.isNaN(at.getTime())
    ? ''
    : at.toLocaleString('en-GB', { dateStyle: 'full', timeStyle: 'short' });
}

/** The index of the last element that passes `test`, or -1. */
export function lastIndexWhere<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) {
    if (test(items[i] as T)) return i;
  }
  return -1;
}

/** What a reply's report says beyond its stored message: turns left out to fit, lorebook entries used. */
export function reportNote(report: Pick<ReplyReport, 'dropped_turns' | 'lore_entries'>): string | null {
  const parts: string[] = [];
  if (report.dropped_turns > 0) {
    parts.push(`${report.dropped_turns} early ${report.dropped_turns === 1 ? 'turn' : 'turns'} left out to fit the context`);
  }
  if (report.lore_entries > 0) {
    parts.push(`${report.lore_entries} lorebook ${report.lore_entries === 1 ? 'entry' : 'entries'} used`);
  }
  return parts.length > 0 ? parts.join(' · ') : null;
}
