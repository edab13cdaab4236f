import { describe, expect, it } from 'vitest';
import {
  formatRoyalty,
  isOurs,
  passphraseProblem,
  readEther,
  readIndex,
  readMnemonic,
  readPrivateKey,
  readRoyalty,
  sameAddress,
  shortAddress,
  shortHash,
} from './address';

const A = '0xAbCdEf0123456789abcdef0123456789ABCDEF01';

describe('addresses', () => {
  it('compares without case and shortens for a glance', () => {
    expect(sameAddress(A, A.toLowerCase())).toBe(true);
    expect(sameAddress(A, null)).toBe(false);
    expect(isOurs(A.toUpperCase().replace('0X', '0x'), [A])).toBe(true);
    expect(shortAddress(A)).toBe('0xAbCd…EF01');
    expect(shortAddress('not an address')).toBe('not an address');
    expect(shortHash(`0x${'ab'.repeat(32)}`)).toBe('0xababab…ababab');
  });
});

describe('what the user types', () => {
  it('checks a passphrase and its confirmation', () => {
    expect(passphraseProblem('', '')?.field).toBe('passphrase');
    expect(passphraseProblem('a', 'b')).toMatchObject({ field: 'confirmation' });
    expect(passphraseProblem('same', 'same')).toBeNull();
  });

  it('reads a private key, with or without 0x', () => {
    expect(readPrivateKey(` 0x${'a'.repeat(64)} `)).toEqual({ ok: true, key: `0x${'a'.repeat(64)}` });
    expect(readPrivateKey('f'.repeat(64)).ok).toBe(true);
    expect(readPrivateKey('xyz').ok).toBe(false);
    expect(readPrivateKey('').ok).toBe(false);
  });

  it('reads a recovery phrase of a valid length', () => {
    const words = 'test test test test test test test test test test test junk';
    expect(readMnemonic(`  ${words.toUpperCase().replace(/ /g, '\n ')} `)).toEqual({ ok: true, phrase: words });
    expect(readMnemonic('one two three')).toMatchObject({ ok: false, message: expect.stringContaining('has 3') });
  });

  it('reads an account number', () => {
    expect(readIndex('')).toEqual({ ok: true, index: 0 });
    expect(readIndex('3')).toEqual({ ok: true, index: 3 });
    expect(readIndex('-1').ok).toBe(false);
    expect(readIndex('1.5').ok).toBe(false);
  });

  it('reads a price in ether', () => {
    expect(readEther('0.5')).toEqual({ ok: true, ether: '0.5' });
    expect(readEther('.25 ETH')).toEqual({ ok: true, ether: '0.25' });
    expect(readEther('0,5').ok).toBe(false);
    expect(readEther('0.000').ok).toBe(false);
    expect(readEther(`1.${'1'.repeat(19)}`).ok).toBe(false);
  });

  it('reads a royalty in percent into basis points, up to the cap', () => {
    expect(readRoyalty('5')).toEqual({ ok: true, bps: 500 });
    expect(readRoyalty('7.25 %')).toEqual({ ok: true, bps: 725 });
    expect(readRoyalty('0')).toEqual({ ok: true, bps: 0 });
    expect(readRoyalty('10.01').ok).toBe(false);
    expect(readRoyalty('1.234').ok).toBe(false);
    expect(formatRoyalty(500)).toBe('5%');
    expect(formatRoyalty(250)).toBe('2.5%');
    expect(formatRoyalty(725)).toBe('7.25%');
  });
});
