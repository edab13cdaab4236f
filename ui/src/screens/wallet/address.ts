/** Ethereum addresses and amounts as the wallet and marketplace screens show and read them. */

/** Whether two addresses are the same account (the core writes them checksummed, comparisons ignore case). */
export function sameAddress(a: string | null | undefined, b: string | null | undefined): boolean {
  return Boolean(a && b && a.toLowerCase() === b.toLowerCase());
}

/** Whether `address` is one of `wallets`. */
export function isOurs(address: string | null | undefined, wallets: readonly string[]): boolean {
  return wallets.some((w) => sameAddress(w, address));
}

/** `0x1a2b…9f0e`: enough to tell accounts apart at a glance (the full address is always shown next to it or on hover). */
export function shortAddress(address: string): string {
  return /^0x[0-9a-f]{40}$/i.test(address) ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** `0x5f3a…c21d` for a token id or a transaction hash (66 characters). */
export function shortHash(hash: string): string {
  return hash.length > 14 ? `${hash.slice(0, 8)}…${hash.slice(-6)}` : hash;
}

/** The problem with a passphrase and its confirmation, or none. */
export function passphraseProblem(passphrase: string, confirmation: string): { field: 'passphrase' | 'confirmation'; message: string } | null {
  if (passphrase === '') return { field: 'passphrase', message: 'Choose a passphrase: the wallet is encrypted with it.' };
  if (passphrase !== confirmation) return { field: 'confirmation', message: 'The two passphrases differ: type the same one twice.' };
  return null;
}

/** A private key as typed (with or without 0x), or the problem with it. */
export function readPrivateKey(text: string): { ok: true; key: string } | { ok: false; message: string } {
  const key = text.trim();
  if (key === '') return { ok: false, message: 'Paste the private key (64 hexadecimal digits).' };
  if (!/^(0x)?[0-9a-f]{64}$/i.test(key)) {
    return { ok: false, message: 'A private key is 64 hexadecimal digits (0–9, a–f), with or without 0x.' };
  }
  return { ok: true, key };
}

/** A recovery phrase as typed (extra spaces and line breaks dropped), or the problem with it. */
export function readMnemonic(text: string): { ok: true; phrase: string } | { ok: false; message: string } {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { ok: false, message: 'Type or paste the recovery phrase.' };
  if (![12, 15, 18, 21, 24].includes(words.length)) {
    return { ok: false, message: `A recovery phrase has 12, 15, 18, 21 or 24 words; this one has ${words.length}.` };
  }
  return { ok: true, phrase: words.join(' ') };
}

/** An account index (0, 1, …) as typed, or the problem with it. */
export function readIndex(text: string | number): { ok: true; index: number } | { ok: false; message: string } {
  const value = typeof text === 'number' ? text : Number(String(text).trim() || '0');
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    return { ok: false, message: 'The account number is a whole number from 0 (the first account).' };
  }
  return { ok: true, index: value };
}

/** Ether as typed (`0.5`, `2`, `.25`) → the decimal string the core parses, or the problem with it. */
export function readEther(text: string): { ok: true; ether: string } | { ok: false; message: string } {
  let value = text.trim().replace(/\s*eth$/i, '');
  if (value === '') return { ok: false, message: 'Type a price in ETH, such as 0.5.' };
  if (value.startsWith('.')) value = `0${value}`;
  if (!/^\d+(\.\d+)?$/.test(value)) return { ok: false, message: 'Type a number of ETH, such as 0.5 (a dot before the decimals).' };
  const decimals = value.split('.')[1] ?? '';
  if (decimals.length > 18) return { ok: false, message: 'ETH has at most 18 decimals.' };
  if (/^[0.]+$/.test(value)) return { ok: false, message: 'The price must be more than 0 ETH.' };
  return { ok: true, ether: value };
}

/** `5%`, `2.5%`, `0.25%` of basis points. */
export function formatRoyalty(bps: number): string {
  return `${Number((bps / 100).toFixed(2))}%`;
}

/** A royalty in percent as typed (0–10, two decimals at most) → basis points, or the problem with it. */
export function readRoyalty(text: string | number, maxBps = 1000): { ok: true; bps: number } | { ok: false; message: string } {
  const raw = typeof text === 'number' ? String(text) : text.trim().replace(/\s*%$/, '');
  const max = `${maxBps / 100}%`;
  if (raw === '' || !/^\d+(\.\d{1,2})?$/.test(raw)) {
    return { ok: false, message: `Type a percentage from 0 to ${max}, with at most two decimals.` };
  }
  const bps = Math.round(Number(raw) * 100);
  if (bps > maxBps) return { ok: false, message: `The royalty is at most ${max} of each resale.` };
  return { ok: true, bps };
}
