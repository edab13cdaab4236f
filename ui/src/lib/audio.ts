/**
 * Audio levels for meters and waveforms. Levels arrive from the core in dBFS
 * (0 is full scale; quieter is more negative); drawing wants fractions.
 */

/** The quietest level a meter shows; anything below is silence. */
export const FLOOR_DB = -60;

/** A level in dBFS as a fraction of the meter, linear in dB, clamped to [0, 1]. */
export function dbToFraction(db: number, floor = FLOOR_DB): number {
  if (!Number.isFinite(db)) return 0;
  return Math.min(1, Math.max(0, (db - floor) / -floor));
}

/** A level in dBFS as a linear amplitude in [0, 1]. */
export function dbToAmplitude(db: number): number {
  if (!Number.isFinite(db)) return 0;
  return Math.min(1, Math.max(0, 10 ** (db / 20)));
}

/** `−23 dB`; `silence` below the floor. */
export function formatDb(db: number, floor = FLOOR_DB): string {
  if (!Number.isFinite(db) || db <= floor) return 'silence';
  return `${db < 0 ? '−' : ''}${Math.abs(Math.round(db))} dB`;
}

/** A held peak: the loudest recent level, falling back at `decayDbPerSecond`. */
export interface Peak {
  db: number;
  /** When it was last raised or decayed, in ms. */
  at: number;
}

/** The peak after a new level at time `now` (ms). */
export function holdPeak(previous: Peak | null, db: number, now: number, decayDbPerSecond = 20): Peak {
  if (!previous) return { db, at: now };
  const decayed = previous.db - (decayDbPerSecond * Math.max(0, now - previous.at)) / 1000;
  return db >= decayed ? { db, at: now } : { db: decayed, at: now };
}

/**
 * The loudest absolute sample of each of `columns` equal slices of `samples`
 * (the outline of a recording, one value per pixel column or bar).
 */
export function columnPeaks(samples: ArrayLike<number>, columns: number): Float32Array {
  const n = Math.max(0, Math.floor(columns));
  const out = new Float32Array(n);
  if (n === 0 || samples.length === 0) return out;
  for (let c = 0; c < n; c++) {
    const start = Math.floor((c * samples.length) / n);
    const end = Math.max(start + 1, Math.floor(((c + 1) * samples.length) / n));
    let peak = 0;
    for (let i = start; i < end && i < samples.length; i++) {
      const v = Math.abs(samples[i] ?? 0);
      if (v > peak) peak = v;
    }
    out[c] = Math.min(1, peak);
  }
  return out;
}

/** The last `capacity` values pushed, oldest first: a live waveform's history. */
export class RollingPeaks {
  readonly capacity: number;
  #values: number[] = [];

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
    this.capacity = Math.floor(capacity);
  }

  push(value: number): void {
    this.#values.push(Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0)));
    if (this.#values.length > this.capacity) this.#values.splice(0, this.#values.length - this.capacity);
  }

  /** A copy, oldest first. */
  values(): number[] {
    return this.#values.slice();
  }

  clear(): void {
    this.#values = [];
  }
}

/**
 * `values` fitted to `n` bars: the loudest of each group when shrinking, each
 * value repeated when stretching.
 */
export function resample(values: ArrayLike<number>, n: number): Float32Array {
  const count = Math.max(0, Math.floor(n));
  const out = new Float32Array(count);
  if (values.length === 0 || count === 0) return out;
  if (values.length <= count) {
    for (let i = 0; i < count; i++) out[i] = values[Math.floor((i * values.length) / count)] ?? 0;
    return out;
  }
  return columnPeaks(values, count);
}
