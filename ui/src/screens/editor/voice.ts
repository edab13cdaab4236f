/**
 * The Voice tab without UI: the checks of a reference recording in words, a
 * pending draft read from the core's JSON, and what a refused recording or
 * consent carries (`AppError.data`).
 */
import type { Check, ConsentCheck, DeviceInfo, Value } from '../../bindings';
import type { AppError } from '../../lib/ipc';

/** A reference recording that passed its checks and waits for the creator's read-out. */
export interface PendingDraft {
  sentence: string;
  checks: Check[];
  /** Seconds of the reference. */
  seconds: number | null;
}

function num(v: Value | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isRecord(v: unknown): v is { [key in string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: Value | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The well-formed checks of a `ReferenceReport`'s JSON. */
function checksOf(report: { [key in string]: Value }): Check[] {
  if (!Array.isArray(report.checks)) return [];
  return report.checks.filter(isRecord).map(checkOf).filter((c): c is Check => c !== null);
}

/** The draft `voiceProfile` reports (`{ sentence, report: { seconds, checks }, created_at }`), if it is one. */
export function pendingDraft(value: Value | null | undefined): PendingDraft | null {
  if (!isRecord(value)) return null;
  if (typeof value.sentence !== 'string' || value.sentence === '') return null;
  const report = isRecord(value.report) ? value.report : {};
  return { sentence: value.sentence, checks: checksOf(report), seconds: num(report.seconds) };
}

/** A reference recording the core refused: every check as measured, and its length. */
export interface RefusedReference {
  checks: Check[];
  seconds: number | null;
}

/**
 * The checks of a refused reference recording: `importVoiceReference` fails
 * with `invalid_input` and the whole `ReferenceReport` as data. Null for any
 * other failure (a file that cannot be read has no report).
 */
export function refusedReference(error: Pick<AppError, 'code' | 'data'>): RefusedReference | null {
  if (error.code !== 'invalid_input' || !isRecord(error.data)) return null;
  const checks = checksOf(error.data);
  return checks.length > 0 ? { checks, seconds: num(error.data.seconds) } : null;
}

/** The result of a refused consent: `createVoiceProfile` fails with `consent_refused` and the `ConsentCheck` as data. */
export function refusedConsent(error: Pick<AppError, 'code' | 'data'>): ConsentCheck | null {
  if (error.code !== 'consent_refused' || !isRecord(error.data)) return null;
  const d = error.data;
  if (typeof d.transcript !== 'string' || !Array.isArray(d.reasons)) return null;
  return {
    transcript: d.transcript,
    word_error_rate: num(d.word_error_rate),
    missing_words: strings(d.missing_words),
    similarity: num(d.similarity),
    threshold: num(d.threshold),
    accepted: d.accepted === true,
    reasons: strings(d.reasons),
  };
}

/** `similarity 0.86 (at least 0.75)`: how alike the read-out and the reference sounded. */
export function similarityText(similarity: number, threshold: number | null): string {
  return `similarity ${similarity.toFixed(2)}${threshold !== null ? ` (at least ${threshold.toFixed(2)})` : ''}`;
}

/** `12% of the words` wrong: the word error rate of a read-out, for people. */
export function wordErrorText(rate: number): string {
  const percent = Math.round(rate * 100);
  return `${percent}% of the words differ from the sentence`;
}

function checkOf(v: { [key in string]: Value }): Check | null {
  if (typeof v.name !== 'string' || typeof v.passed !== 'boolean') return null;
  return {
    name: v.name,
    passed: v.passed,
    value: num(v.value),
    limit: num(v.limit),
    fix: typeof v.fix === 'string' ? v.fix : null,
  };
}

const CHECK_NAMES: Record<string, string> = {
  length: 'Length',
  speech: 'Speech',
  level: 'Loudness',
  clipping: 'Clipping',
  noise: 'Background noise',
  one_speaker: 'One speaker',
};

/** A check's name for people. */
export function checkName(check: Pick<Check, 'name'>): string {
  return CHECK_NAMES[check.name] ?? check.name.replace(/_/g, ' ');
}

/** What was measured and the bound it was held to, in words. */
export function checkMeasure(check: Pick<Check, 'name' | 'value' | 'limit'>): string {
  const { value, limit } = check;
  if (value === null) return '';
  const n = (x: number, digits = 0) => x.toFixed(digits).replace('-', '−');
  switch (check.name) {
    case 'length':
      return `${n(value, 1)} s${limit !== null ? ` (at most ${n(limit)} s)` : ''}`;
    case 'speech':
      return `${n(value, 1)} s of speech${limit !== null ? ` (at least ${n(limit)} s)` : ''}`;
    case 'level':
      return `${n(value)} dB${limit !== null ? ` (at least ${n(limit)} dB)` : ''}`;
    case 'clipping':
      return `${n(value * 100, 2)}% clipped${limit !== null ? ` (at most ${n(limit * 100, 1)}%)` : ''}`;
    case 'noise':
      return `${n(value)} dB above the background${limit !== null ? ` (at least ${n(limit)} dB)` : ''}`;
    case 'one_speaker':
      return `agreement ${n(value, 2)}${limit !== null ? ` (at least ${n(limit, 2)})` : ''}`;
    default:
      return limit !== null ? `${n(value, 2)} (limit ${n(limit, 2)})` : n(value, 2);
  }
}

/** A device's name in a list, marking the system's default. */
export function deviceLabel(device: DeviceInfo, kind: 'input' | 'output'): string {
  const isDefault = kind === 'input' ? device.default_input : device.default_output;
  return isDefault ? `${device.name} (default)` : device.name;
}

/** A request id for a job the UI may stop (`cancelJob`). */
export function newRequestId(prefix: string): string {
  const random =
    typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function'
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `${prefix}-${random}`;
}
