import { describe, expect, it } from 'vitest';
import { RollingPeaks, columnPeaks, dbToAmplitude, dbToFraction, formatDb, holdPeak, resample } from './audio';

describe('levels', () => {
  it('maps dBFS onto the meter', () => {
    expect(dbToFraction(0)).toBe(1);
    expect(dbToFraction(-30)).toBe(0.5);
    expect(dbToFraction(-60)).toBe(0);
    expect(dbToFraction(-90)).toBe(0);
    expect(dbToFraction(6)).toBe(1);
    expect(dbToFraction(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(dbToFraction(-20, -40)).toBe(0.5);
  });

  it('converts to amplitude', () => {
    expect(dbToAmplitude(0)).toBe(1);
    expect(dbToAmplitude(-20)).toBeCloseTo(0.1);
    expect(dbToAmplitude(Number.NaN)).toBe(0);
  });

  it('writes levels', () => {
    expect(formatDb(-23.4)).toBe('−23 dB');
    expect(formatDb(0)).toBe('0 dB');
    expect(formatDb(-70)).toBe('silence');
    expect(formatDb(Number.NEGATIVE_INFINITY)).toBe('silence');
  });
});

describe('holdPeak', () => {
  it('rises at once and falls slowly', () => {
    let peak = holdPeak(null, -20, 0);
    expect(peak).toEqual({ db: -20, at: 0 });
    peak = holdPeak(peak, -10, 100);
    expect(peak.db).toBe(-10);
    peak = holdPeak(peak, -50, 600);
    expect(peak.db).toBeCloseTo(-20);
    peak = holdPeak(peak, -5, 700);
    expect(peak.db).toBe(-5);
  });
});

describe('columnPeaks', () => {
  it('takes the loudest sample of each slice', () => {
    const samples = [0, 0.5, -0.9, 0.1, 0.2, -0.3, 0, 0];
    expect(Array.from(columnPeaks(samples, 4))).toEqual([0.5, 0.8999999761581421, 0.30000001192092896, 0]);
    expect(columnPeaks(samples, 0).length).toBe(0);
    expect(Array.from(columnPeaks([], 3))).toEqual([0, 0, 0]);
  });

  it('copes with more columns than samples', () => {
    expect(Array.from(columnPeaks([1, -0.5], 4)).map((v) => Math.round(v * 10) / 10)).toEqual([1, 1, 0.5, 0.5]);
  });
});

describe('RollingPeaks', () => {
  it('keeps the last values, clamped', () => {
    const r = new RollingPeaks(3);
    for (const v of [0.1, 2, -1, Number.NaN, 0.5]) r.push(v);
    expect(r.values()).toEqual([0, 0, 0.5]);
    r.clear();
    expect(r.values()).toEqual([]);
    expect(() => new RollingPeaks(0)).toThrow(RangeError);
  });
});

describe('resample', () => {
  it('shrinks by the loudest of each group and stretches by repeating', () => {
    expect(Array.from(resample([0.1, 0.5, 0.2, 0.4], 2)).map((v) => Math.round(v * 10) / 10)).toEqual([0.5, 0.4]);
    expect(Array.from(resample([0.5, 1], 4))).toEqual([0.5, 0.5, 1, 1]);
    expect(resample([], 4)).toEqual(new Float32Array(4));
    expect(resample([1], 0).length).toBe(0);
  });
});
