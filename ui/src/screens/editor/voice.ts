/** The Voice tab without UI: the checks of a reference recording in words, a pending draft read from the core's JSON. */
import type { Check, DeviceInfo, Value } from '../../bindings';

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

function isRecord(v: Value | undefined): v is { [key in string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The draft `voiceProfile` reports (`{ sentence, report: { seconds, checks }, created_at }`), if it is one. */
export function pendingDraft(value: Value | null | undefined): PendingDraft | null {
  if (!isRecord(value ?? undefined)) return null;
  const v = value as { [key in string]: Value };
  if (typeof v.sentence !== 'string' || v.sentence === '') return null;
  const report = isRecord(v.report) ? v.report : {};
  const checks = Array.isArray(report.checks) ? report.checks.filter(isRecord).map(checkOf) : [];
  return { sentence: v.sentence, checks: checks.filter((c): c is Check => c !== null), seconds: num(report.seconds) };
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
