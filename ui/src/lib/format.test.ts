import { describe, expect, it } from 'vitest';
import { ONE_ETHER, formatBytes, formatDuration, formatEther, formatPercent, formatTransfer, toWei } from './format';

describe('formatBytes', () => {
  it('uses decimal units with sensible digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.00 kB');
    expect(formatBytes(12_345_678)).toBe('12.3 MB');
    expect(formatBytes(270_000_000)).toBe('270 MB');
    expect(formatBytes(5.1e9)).toBe('5.10 GB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
});

describe('formatPercent / formatDuration', () => {
  it('clamps and rounds', () => {
    expect(formatPercent(0.456)).toBe('46%');
    expect(formatPercent(1.2)).toBe('100%');
    expect(formatPercent(-1)).toBe('0%');
    expect(formatPercent(Number.NaN)).toBe('—');
  });

  it('writes clock durations', () => {
    expect(formatDuration(7.9)).toBe('0:07');
    expect(formatDuration(725)).toBe('12:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(-3)).toBe('—');
  });
});

describe('formatTransfer', () => {
  it('shows done, total, rate and time left', () => {
    expect(formatTransfer(12e6, 80e6, 3.4e6)).toBe('12.0 MB of 80.0 MB · 3.40 MB/s · 0:20 left');
    expect(formatTransfer(12e6)).toBe('12.0 MB');
    expect(formatTransfer(12e6, null, 0)).toBe('12.0 MB');
  });
});

describe('ether', () => {
  it('reads wei in every form the IPC may use', () => {
    expect(toWei(5n)).toBe(5n);
    expect(toWei(5)).toBe(5n);
    expect(toWei('1000000000000000000')).toBe(ONE_ETHER);
    expect(toWei('0xde0b6b3a7640000')).toBe(ONE_ETHER);
    expect(() => toWei('1.5')).toThrow(RangeError);
    expect(() => toWei(1e30)).toThrow(RangeError);
  });

  it('formats exactly, without float rounding', () => {
    expect(formatEther(0n)).toBe('0 ETH');
    expect(formatEther(ONE_ETHER)).toBe('1 ETH');
    expect(formatEther(50_000_000_000_000_000n)).toBe('0.05 ETH');
    expect(formatEther('123456789012345678901234')).toBe('123,456.789012 ETH');
    expect(formatEther(1_234_567_890_123_456_789n, { digits: 4 })).toBe('1.2346 ETH');
    expect(formatEther(-ONE_ETHER / 2n)).toBe('−0.5 ETH');
  });

  it('never shows a small amount as nothing', () => {
    expect(formatEther(1n)).toBe('< 0.000001 ETH');
    expect(formatEther(499_999_999_999n)).toBe('< 0.000001 ETH');
    expect(formatEther(500_000_000_000n)).toBe('0.000001 ETH');
  });
});
