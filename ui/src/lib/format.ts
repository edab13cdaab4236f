/** Numbers for people: sizes, progress, durations and ether amounts. */

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** `1.4 GB`: decimal units, as disks and downloads count them. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${SIZE_UNITS[unit]}`;
}

/** `45%` of a fraction in [0, 1] (clamped). */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  return `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/** `0:07`, `12:05`, `1:02:03` for a number of seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The text of a download's progress: `12 MB of 80 MB · 3.2 MB/s · 0:21 left`. */
export function formatTransfer(done: number, total?: number | null, bytesPerSecond?: number | null): string {
  const parts = [total ? `${formatBytes(done)} of ${formatBytes(total)}` : formatBytes(done)];
  if (bytesPerSecond && bytesPerSecond > 0) {
    parts.push(`${formatBytes(bytesPerSecond)}/s`);
    if (total && total > done) parts.push(`${formatDuration((total - done) / bytesPerSecond)} left`);
  }
  return parts.join(' · ');
}

const WEI_PER_ETHER = 10n ** 18n;

/** A wei amount from a bigint, a number, or a decimal or 0x-hex string. */
export function toWei(value: bigint | number | string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not an exact wei amount: ${value}`);
    return BigInt(value);
  }
  const text = value.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) throw new RangeError(`not a wei amount: "${value}"`);
  return BigInt(text);
}

/**
 * `0.05 ETH` of a wei amount, exact up to `digits` decimals, trailing zeros
 * dropped; an amount too small for them shows as `< 0.000001 ETH`, never as 0.
 */
export function formatEther(wei: bigint | number | string, options: { digits?: number; symbol?: string } = {}): string {
  const digits = options.digits ?? 6;
  const symbol = options.symbol ?? 'ETH';
  const amount = toWei(wei);
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const scale = 10n ** BigInt(18 - digits);
  // Round half up at the last shown digit.
  const rounded = (abs + scale / 2n) / scale;
  if (rounded === 0n && abs > 0n) return `< 0.${'0'.repeat(digits - 1)}1 ${symbol}`;
  const unit = 10n ** BigInt(digits);
  const whole = rounded / unit;
  const fraction = (rounded % unit).toString().padStart(digits, '0').replace(/0+$/, '');
  const wholeText = whole.toLocaleString('en-US');
  return `${negative ? '−' : ''}${wholeText}${fraction ? `.${fraction}` : ''} ${symbol}`;
}

/** One ether in wei, for callers that compute with amounts. */
export const ONE_ETHER = WEI_PER_ETHER;
