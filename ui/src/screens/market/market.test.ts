import { describe, expect, it } from 'vitest';
import type { AgentCard, MarketToken, TxPlan } from '../../bindings';
import { filterTokens, importedCopies, tokenActions } from './market';
import { formatGwei, planAmounts } from './plan';

const ME = '0xAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa';
const ALT = '0x1111111111111111111111111111111111111111';
const OTHER = '0xBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBb';
const TOKEN = `0x${'ab'.repeat(32)}`;

function token(over: Partial<MarketToken> = {}): MarketToken {
  return {
    token: TOKEN,
    cid: 'bafkreiexample',
    name: 'Ada',
    description: 'Answers from the Jargon File',
    model: 'smollm2-135m-instruct-q4_1',
    creator: OTHER,
    owner: OTHER,
    royalty_bps: 500,
    price_wei: '500000000000000000',
    minted_block: 7,
    ...over,
  };
}

function plan(over: Partial<TxPlan> = {}): TxPlan {
  return {
    action: 'buy Ada for 0.5 ETH',
    from: ME,
    value_wei: '500000000000000000',
    royalty_wei: '25000000000000000',
    fee: { gas_limit: 120000, max_fee_per_gas: 2_000_000_000, max_priority_fee_per_gas: 1_000_000_000, max_fee_wei: '240000000000000' },
    ...over,
  };
}

describe('tokenActions', () => {
  it("offers to buy someone else's listing, from any wallet but the seller's", () => {
    const a = tokenActions(token(), [ME.toLowerCase(), ALT]);
    expect(a).toMatchObject({ ours: false, listed: true, canBuy: true, canSell: false, canCancel: false, canImport: false });
    expect(a.buyers).toEqual([ME.toLowerCase(), ALT]);
  });

  it('offers to sell, withdraw and import what a wallet of ours owns (compared without case)', () => {
    const unlisted = tokenActions(token({ owner: ME, price_wei: null }), [ME.toLowerCase()]);
    expect(unlisted).toMatchObject({ ours: true, canSell: true, canCancel: false, canImport: true, canBuy: false });
    const listed = tokenActions(token({ owner: ME }), [ME, ALT]);
    expect(listed).toMatchObject({ canSell: false, canCancel: true, canImport: true, canBuy: true });
    expect(listed.buyers).toEqual([ALT]);
    expect(tokenActions(token({ owner: ME }), [ME]).canBuy).toBe(false);
  });

  it('keeps Buy without any wallet, so its dialog can say how to get one', () => {
    expect(tokenActions(token(), []).canBuy).toBe(true);
    expect(tokenActions(token({ price_wei: null }), []).canBuy).toBe(false);
  });
});

describe('importedCopies', () => {
  it('finds the agents whose origin is this token', () => {
    const card = (id: string, origin: string | null) => ({ id, name: id, origin }) as AgentCard;
    const agents = [
      card('a', `token:31337:0x5FbDB2315678afecb367f032d93F642f64180aa3:${TOKEN}`),
      card('b', 'sample:ada'),
      card('c', `token:31337:0x5FbDB2315678afecb367f032d93F642f64180aa3:0x${'cd'.repeat(32)}`),
      card('d', null),
    ];
    expect(importedCopies(TOKEN.toUpperCase().replace('0X', '0x'), agents).map((a) => a.id)).toEqual(['a']);
  });
});

describe('filterTokens', () => {
  const tokens = [
    token(),
    token({ token: '0x02', name: 'Lena', price_wei: null, owner: ME, model: 'qwen3-0.6b' }),
    token({ token: '0x03', name: 'Mira', description: 'A ship captain' }),
  ];

  it('keeps listed ones, ours, and those matching every word', () => {
    expect(filterTokens(tokens, 'listed', '', [ME]).map((t) => t.name)).toEqual(['Ada', 'Mira']);
    expect(filterTokens(tokens, 'yours', '', [ME.toLowerCase()]).map((t) => t.name)).toEqual(['Lena']);
    expect(filterTokens(tokens, 'all', 'ship CAPTAIN', []).map((t) => t.name)).toEqual(['Mira']);
    expect(filterTokens(tokens, 'all', 'qwen3', []).map((t) => t.name)).toEqual(['Lena']);
    expect(filterTokens(tokens, 'all', '  ', []).length).toBe(3);
  });
});

describe('planAmounts', () => {
  it('shows a purchase: price, royalty within it, the most the fee can cost, and the total', () => {
    const { amounts, total } = planAmounts(plan(), { royaltyBps: 500, creator: OTHER });
    expect(amounts.map((a) => [a.testid, a.value])).toEqual([
      ['amount-price', '0.5 ETH'],
      ['amount-royalty', '0.025 ETH'],
      ['amount-fee', 'up to 0.00024 ETH'],
    ]);
    expect(amounts[1]?.note).toBe('5% to the creator, 0xBbBb…BbBb, included in the price');
    expect(amounts[2]?.note).toBe('at most 120,000 gas at 2 gwei');
    expect(total).toMatchObject({ testid: 'amount-total', value: 'up to 0.50024 ETH' });
  });

  it('says when the creator sells and no royalty is due', () => {
    const { amounts } = planAmounts(plan({ royalty_wei: '0' }), { royaltyBps: 500 });
    expect(amounts[1]).toMatchObject({ value: '0 ETH', note: 'none on this sale: the creator is the seller' });
  });

  it('shows only the fee for what sends no value, after the lines given', () => {
    const { amounts, total } = planAmounts(plan({ value_wei: '0', royalty_wei: null }), {
      extra: [{ label: 'Asking price', value: '0.5 ETH' }],
    });
    expect(amounts.map((a) => a.label)).toEqual(['Asking price', 'Network fee']);
    expect(total.value).toBe('up to 0.00024 ETH');
    expect(total.note).toBe('only the network fee');
  });

  it('writes fees per gas in gwei', () => {
    expect(formatGwei(1_500_000_000)).toBe('1.5 gwei');
    expect(formatGwei(875_000_000)).toBe('0.875 gwei');
    expect(formatGwei('x')).toBe('—');
  });
});
