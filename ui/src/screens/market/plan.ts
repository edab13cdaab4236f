/**
 * What the confirmation of a transaction shows, from the plan the core
 * streams before sending anything (`TxPlan`): the value sent (a purchase's
 * price), the creator's royalty within it, the most the network fee can cost,
 * and the most it all can cost.
 */
import type { TxPlan } from '../../bindings';
import type { Amount } from '../../components/types';
import { formatEther, toWei } from '../../lib/format';
import { formatRoyalty, shortAddress } from '../wallet/address';

/** What the dialog needs besides the plan. */
export interface PlanContext {
  /** The creator's royalty in basis points (for the royalty's note). */
  royaltyBps?: number;
  /** The creator's address (for the royalty's note). */
  creator?: string;
  /** Lines that describe without being spent (a listing's asking price), first. */
  extra?: Amount[];
}

/** `25 gwei` of a fee per gas in wei, to two decimals at most. */
export function formatGwei(wei: number | string): string {
  const value = Number(wei) / 1e9;
  if (!Number.isFinite(value)) return '—';
  return `${Number(value.toFixed(value < 1 ? 4 : 2))} gwei`;
}

/** The rows of the confirmation and its total, each with a `testid` for end-to-end tests. */
export function planAmounts(plan: TxPlan, context: PlanContext = {}): { amounts: Amount[]; total: Amount } {
  const value = toWei(plan.value_wei);
  const fee = toWei(plan.fee.max_fee_wei);
  const amounts: Amount[] = [...(context.extra ?? [])];
  if (value > 0n) {
    amounts.push({ label: 'Price', value: formatEther(value), testid: 'amount-price' });
  }
  if (plan.royalty_wei !== null) {
    const royalty = toWei(plan.royalty_wei);
    const whom = context.creator ? `the creator, ${shortAddress(context.creator)}` : 'the creator';
    const rate = context.royaltyBps !== undefined ? `${formatRoyalty(context.royaltyBps)} to ${whom}` : `to ${whom}`;
    amounts.push({
      label: "Creator's royalty",
      value: formatEther(royalty),
      note: royalty > 0n ? `${rate}, included in the price` : 'none on this sale: the creator is the seller',
      testid: 'amount-royalty',
    });
  }
  amounts.push({
    label: 'Network fee',
    value: `up to ${formatEther(fee)}`,
    note: `at most ${plan.fee.gas_limit.toLocaleString('en-US')} gas at ${formatGwei(plan.fee.max_fee_per_gas)}`,
    testid: 'amount-fee',
  });
  const total: Amount = {
    label: 'Total',
    value: `up to ${formatEther(value + fee)}`,
    note: value > 0n ? 'the price and the most the fee can cost' : 'only the network fee',
    testid: 'amount-total',
  };
  return { amounts, total };
}

/** What the confirmation of one plan says. */
export interface Review {
  title: string;
  message?: string;
  amounts: Amount[];
  total: Amount;
  confirmLabel: string;
}
