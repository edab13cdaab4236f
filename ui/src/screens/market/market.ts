/** The marketplace's view of tokens: whose they are, what can be done with them, and which are in the library. */
import type { AgentCard, MarketToken, TokenImport } from '../../bindings';
import type { AppError } from '../../lib/ipc';
import { isOurs, sameAddress } from '../wallet/address';

/** Which tokens the list shows. */
export type TokenFilter = 'all' | 'listed' | 'yours';

export const TOKEN_FILTERS: { value: TokenFilter; label: string }[] = [
  { value: 'all', label: 'All minted agents' },
  { value: 'listed', label: 'For sale' },
  { value: 'yours', label: 'Yours' },
];

/** What the user can do with a token, given their wallets. */
export interface TokenActions {
  /** One of the user's wallets owns it. */
  ours: boolean;
  /** One of the user's wallets created it. */
  created: boolean;
  listed: boolean;
  /** Listed, and a wallet other than the seller's could pay (the contract refuses buying one's own listing). */
  canBuy: boolean;
  /** The wallets that may buy it. */
  buyers: string[];
  canSell: boolean;
  canCancel: boolean;
  canImport: boolean;
}

export function tokenActions(token: MarketToken, wallets: readonly string[]): TokenActions {
  const ours = isOurs(token.owner, wallets);
  const listed = token.price_wei !== null;
  const buyers = wallets.filter((w) => !sameAddress(w, token.owner));
  return {
    ours,
    created: isOurs(token.creator, wallets),
    listed,
    // With no wallet at all the button stays, and its dialog says how to get one.
    canBuy: listed && (wallets.length === 0 || buyers.length > 0),
    buyers,
    canSell: ours && !listed,
    canCancel: ours && listed,
    canImport: ours,
  };
}

/** The library's agents imported from this token (`origin` is `token:<chain>:<contract>:<token id>`). */
export function importedCopies(token: string, agents: readonly AgentCard[]): AgentCard[] {
  const suffix = `:${token.toLowerCase()}`;
  return agents.filter((a) => {
    const origin = a.origin?.toLowerCase() ?? '';
    return origin.startsWith('token:') && origin.endsWith(suffix);
  });
}

/** The tokens a filter and a search keep, in the core's order (newest mint first). */
export function filterTokens(
  tokens: readonly MarketToken[],
  filter: TokenFilter,
  query: string,
  wallets: readonly string[],
): MarketToken[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return tokens.filter((t) => {
    if (filter === 'listed' && t.price_wei === null) return false;
    if (filter === 'yours' && !isOurs(t.owner, wallets)) return false;
    if (words.length === 0) return true;
    const text = `${t.name} ${t.description} ${t.model} ${t.creator} ${t.owner} ${t.token} ${t.cid}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** Where the import of one token stands. */
export type ImportState =
  | { status: 'running'; done: number | null; total: number | null }
  | { status: 'done'; result: TokenImport }
  | { status: 'failed'; error: AppError };
