import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import type { Channel } from '@tauri-apps/api/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  commands,
  type AgentCard,
  type ChainStatus,
  type Fetched,
  type MarketToken,
  type MintReport,
  type TokenImport,
  type TradeReport,
  type TxPlan,
} from '../../bindings';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import MarketScreen from './MarketScreen.svelte';

vi.mock('../../bindings', () => ({
  commands: {
    chainStatus: vi.fn(),
    startChain: vi.fn(),
    listWallets: vi.fn(),
    listAgents: vi.fn(),
    market: vi.fn(),
    answerPlan: vi.fn(),
    buyToken: vi.fn(),
    sellToken: vi.fn(),
    cancelListing: vi.fn(),
    mintAgent: vi.fn(),
    importToken: vi.fn(),
  },
  events: {},
}));

const cmd = vi.mocked(commands);

const SELLER = '0xBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBb';
const BUYER = '0xAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa';
const SECOND = '0x2222222222222222222222222222222222222222';
const ADA = `0x${'ab'.repeat(32)}`;
const LENA = `0x${'cd'.repeat(32)}`;
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

const ok = <T,>(data: T) => Promise.resolve({ status: 'ok' as const, data });
const err = (code: string, message: string) =>
  Promise.resolve({ status: 'error' as const, error: { code, message } as never });

function chain(over: Partial<ChainStatus> = {}): ChainStatus {
  return {
    network: { kind: 'local', rpc_url: null, chain_id: 31337, contract: CONTRACT },
    rpc_url: 'http://127.0.0.1:8545',
    reachable: true,
    block: 42,
    contract_deployed: true,
    local_node: { pid: 4242, port: 8545 },
    error: null,
    gateways: [],
    ...over,
  };
}

function token(over: Partial<MarketToken> = {}): MarketToken {
  return {
    token: ADA,
    cid: 'bafkreiada',
    name: 'Ada',
    description: 'Answers from the Jargon File',
    model: 'smollm2-135m-instruct-q4_1',
    creator: SELLER,
    owner: SELLER,
    royalty_bps: 500,
    price_wei: '500000000000000000',
    minted_block: 7,
    ...over,
  };
}

const FEE = { gas_limit: 120000, max_fee_per_gas: 2_000_000_000, max_priority_fee_per_gas: 1_000_000_000, max_fee_wei: '240000000000000' };

function plan(over: Partial<TxPlan> = {}): TxPlan {
  return { action: 'buy Ada', from: BUYER, value_wei: '500000000000000000', royalty_wei: '0', fee: FEE, ...over };
}

function trade(over: Partial<TradeReport> = {}): TradeReport {
  return {
    token: ADA,
    tx_hash: `0x${'12'.repeat(32)}`,
    block_number: 43,
    price_wei: '500000000000000000',
    royalty_wei: '0',
    fee: FEE,
    gas_used: 81234,
    ...over,
  };
}

function agent(id: string, name: string, origin: string | null = null): AgentCard {
  return {
    id,
    name,
    version: 1,
    origin,
    summary: '',
    tags: [],
    avatar: null,
    model: null,
    knowledge: [],
    voice_profile: false,
    created_at: 0,
    updated_at: 0,
    deleted_at: null,
  };
}

/** A transaction command held open: what it was given, and how to end it. */
interface Held<T> {
  token?: string;
  signer: { wallet: string | null; passphrase: string };
  id: string;
  plans: Channel<TxPlan>;
  finish: (result: { status: 'ok'; data: T } | { status: 'error'; error: never }) => void;
}

function hold<T>(): { held: () => Held<T>; impl: (...args: unknown[]) => Promise<unknown> } {
  let last: Held<T> | null = null;
  return {
    held: () => {
      if (!last) throw new Error('the command was not called');
      return last;
    },
    impl: (...args: unknown[]) =>
      new Promise<unknown>((resolve) => {
        const n = args.length;
        last = {
          token: typeof args[0] === 'string' ? args[0] : undefined,
          signer: args[n - 3] as Held<T>['signer'],
          id: args[n - 2] as string,
          plans: args[n - 1] as Channel<TxPlan>,
          finish: resolve as Held<T>['finish'],
        };
      }),
  };
}

beforeEach(() => {
  vi.resetAllMocks();
  enterTauri();
  cmd.chainStatus.mockImplementation(() => ok(chain()));
  cmd.listWallets.mockImplementation(() => ok([BUYER, SECOND]));
  cmd.listAgents.mockImplementation(() => ok([agent('lena', 'Lena')]));
  cmd.market.mockImplementation(() => ok([token()]));
  cmd.answerPlan.mockImplementation(() => ok(null));
});

afterEach(() => {
  document.body.innerHTML = '';
  toasts.clear();
});

async function shown() {
  render(MarketScreen);
  return screen.findByTestId('market-list');
}

function row(name: string): HTMLElement {
  const el = screen.getAllByTestId('token-row').find((r) => r.dataset.name === name);
  if (!el) throw new Error(`no row for ${name}`);
  return el;
}

describe('the marketplace', () => {
  it('lists minted agents with price, royalty, creator, owner and provenance', async () => {
    cmd.market.mockImplementation(() => ok([token(), token({ token: LENA, name: 'Lena', price_wei: null, owner: BUYER, royalty_bps: 250 })]));
    await shown();
    const ada = row('Ada');
    expect(ada).toHaveAttribute('data-token', ADA);
    expect(within(ada).getByTestId('token-price')).toHaveTextContent('For sale · 0.5 ETH');
    expect(ada).toHaveTextContent('5% of each resale, to the creator');
    expect(within(ada).getByTestId('token-owner')).toHaveTextContent('0xBbBb…BbBb');
    expect(within(ada).getByText('Provenance')).toBeInTheDocument();
    expect(within(ada).getByText(ADA)).toBeInTheDocument();
    expect(within(ada).getByText('bafkreiada')).toBeInTheDocument();
    expect(within(ada).getByText(CONTRACT)).toBeInTheDocument();
    expect(within(ada).getByTestId('buy-button')).toHaveAccessibleName('Buy for 0.5 ETH');
    expect(within(ada).getByTestId('buy-button')).toHaveAccessibleDescription('Ada');
    expect(within(ada).queryByTestId('sell-button')).toBeNull();

    const lena = row('Lena');
    expect(lena).toHaveTextContent('Not for sale');
    expect(lena).toHaveTextContent('2.5% of each resale');
    expect(within(lena).getByTestId('token-owner')).toHaveTextContent('(you)');
    expect(within(lena).getByTestId('sell-button')).toBeInTheDocument();
    expect(within(lena).getByTestId('import-button')).toHaveAccessibleName('Import into the library');
    expect(within(lena).queryByTestId('buy-button')).toBeNull();
    expect(screen.getByText('2 minted agents')).toBeInTheDocument();
  });

  it('filters by what is for sale, what is yours, and words', async () => {
    cmd.market.mockImplementation(() =>
      ok([token(), token({ token: LENA, name: 'Lena', description: 'A guide', price_wei: null, owner: BUYER })]),
    );
    await shown();
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Show' }), 'listed');
    expect(screen.getAllByTestId('token-row').map((r) => r.dataset.name)).toEqual(['Ada']);
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Show' }), 'yours');
    expect(screen.getAllByTestId('token-row').map((r) => r.dataset.name)).toEqual(['Lena']);
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Show' }), 'all');
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search the marketplace' }), 'jargon');
    expect(screen.getAllByTestId('token-row').map((r) => r.dataset.name)).toEqual(['Ada']);
    expect(screen.getByText('1 of 2 minted agents')).toBeInTheDocument();
  });

  it('says which agents are already in the library', async () => {
    cmd.market.mockImplementation(() => ok([token({ owner: BUYER, price_wei: null })]));
    cmd.listAgents.mockImplementation(() => ok([agent('ada-2', 'Ada', `token:31337:${CONTRACT}:${ADA}`)]));
    await shown();
    const ada = row('Ada');
    expect(within(ada).getByText('In your library')).toBeInTheDocument();
    expect(within(ada).getByRole('link', { name: 'Ada' })).toHaveAttribute('href', '#/agents/ada-2');
    expect(within(ada).getByTestId('import-button')).toHaveAccessibleName('Import again');
  });

  it('guides to start the local chain when it is not running, then shows the tokens', async () => {
    cmd.chainStatus.mockImplementationOnce(() => ok(chain({ local_node: null, reachable: false, block: null })));
    cmd.startChain.mockImplementation(() => ok(chain()));
    render(MarketScreen);
    expect(await screen.findByRole('heading', { name: 'The local chain is not running' })).toBeInTheDocument();
    expect(cmd.market).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('button', { name: 'Start the local chain' }));
    expect(cmd.startChain).toHaveBeenCalledOnce();
    expect(await screen.findByTestId('market-list')).toBeInTheDocument();
  });

  it('guides to Wallet & network when the chain cannot be reached', async () => {
    cmd.chainStatus.mockImplementation(() =>
      ok(chain({ network: { kind: 'custom', rpc_url: 'https://rpc.example', chain_id: 84532, contract: CONTRACT } })),
    );
    cmd.market.mockImplementation(() => err('chain_unavailable', 'cannot reach the chain at https://rpc.example'));
    render(MarketScreen);
    expect(await screen.findByRole('heading', { name: 'No chain' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Open Wallet & network' })).toHaveAttribute('href', '#/wallet');
    expect(screen.getByText(/cannot reach the chain/)).toBeInTheDocument();
    cmd.market.mockImplementation(() => ok([token()]));
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('market-list')).toBeInTheDocument();
  });

  it('invites to mint when nothing is minted, and says when there is no wallet', async () => {
    cmd.market.mockImplementation(() => ok([]));
    cmd.listWallets.mockImplementation(() => ok([]));
    render(MarketScreen);
    expect(await screen.findByRole('heading', { name: 'Nothing minted yet' })).toBeInTheDocument();
    expect(screen.getByRole('note')).toHaveTextContent('You have no wallet yet');
    expect(screen.getByRole('link', { name: 'Create or import a wallet' })).toHaveAttribute('href', '#/wallet');
  });
});

describe('buying', () => {
  async function openBuy() {
    const buy = hold<TradeReport>();
    cmd.buyToken.mockImplementation(buy.impl as never);
    await shown();
    await userEvent.click(within(row('Ada')).getByTestId('buy-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Buy Ada' });
    return { buy, dialog };
  }

  it('sends only after the user confirms the plan that shows price, royalty, fee and total', async () => {
    const { buy, dialog } = await openBuy();
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: 'Pay from' }), SECOND);
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'correct horse');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the purchase' }));

    expect(cmd.buyToken).toHaveBeenCalledOnce();
    const held = buy.held();
    expect(held.token).toBe(ADA);
    expect(held.signer).toEqual({ wallet: SECOND, passphrase: 'correct horse' });
    expect(held.id).toMatch(/^tx-[0-9a-f]{24}$/);
    expect(cmd.answerPlan).not.toHaveBeenCalled();
    // Handed to the command, the passphrase leaves the form.
    expect(within(dialog).getByLabelText('Passphrase')).toHaveValue('');

    // A resale: 5% of the price goes to the creator.
    held.plans.onmessage(plan({ from: SECOND, royalty_wei: '25000000000000000' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Buy Ada?' });
    expect(within(confirm).getByTestId('amount-price')).toHaveTextContent('0.5 ETH');
    expect(within(confirm).getByTestId('amount-royalty')).toHaveTextContent('0.025 ETH');
    expect(confirm).toHaveTextContent('5% to the creator, 0xBbBb…BbBb, included in the price');
    expect(within(confirm).getByTestId('amount-fee')).toHaveTextContent('up to 0.00024 ETH');
    expect(within(confirm).getByTestId('amount-total')).toHaveTextContent('up to 0.50024 ETH');
    expect(confirm).toHaveTextContent('Paid from 0x2222…2222');
    expect(cmd.answerPlan).not.toHaveBeenCalled();

    await userEvent.click(within(confirm).getByRole('button', { name: 'Buy for 0.5 ETH' }));
    expect(cmd.answerPlan).toHaveBeenCalledExactlyOnceWith(held.id, true);
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(dialog).toHaveTextContent('Sending, then waiting');

    cmd.market.mockImplementation(() => ok([token({ owner: SECOND, price_wei: null })]));
    held.finish({ status: 'ok', data: trade({ royalty_wei: '25000000000000000' }) });
    const result = await screen.findByTestId('tx-result');
    expect(screen.getByRole('dialog', { name: 'You own Ada' })).toBeInTheDocument();
    expect(result).toHaveTextContent('You paid 0.5 ETH, of which 0.025 ETH went to the creator');
    expect(within(result).getByTestId('tx-hash')).toHaveTextContent(`0x${'12'.repeat(32)}`);
    expect(within(result).getByTestId('tx-block')).toHaveTextContent('43');
    expect(within(result).getByTestId('tx-gas')).toHaveTextContent('81,234');
    expect(within(dialog).queryByLabelText('Passphrase')).toBeNull();
    await waitFor(() => expect(cmd.market).toHaveBeenCalledTimes(2));
  });

  it('sends nothing when the plan is declined', async () => {
    const { buy, dialog } = await openBuy();
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the purchase' }));
    const held = buy.held();
    expect(held.signer.wallet).toBe(BUYER);
    held.plans.onmessage(plan());
    const confirm = await screen.findByRole('alertdialog', { name: 'Buy Ada?' });
    expect(within(confirm).getByTestId('amount-royalty')).toHaveTextContent('0 ETH');
    expect(confirm).toHaveTextContent('none on this sale: the creator is the seller');
    await userEvent.click(within(confirm).getByRole('button', { name: 'Decline' }));
    expect(cmd.answerPlan).toHaveBeenCalledExactlyOnceWith(held.id, false);
    held.finish({ status: 'error', error: { code: 'cancelled', message: 'declined: nothing was sent' } as never });
    expect(await within(dialog).findByTestId('tx-declined')).toHaveTextContent('Declined: nothing was sent.');
    expect(within(dialog).getByLabelText('Passphrase')).toHaveValue('');
    expect(screen.queryByTestId('tx-result')).toBeNull();
  });

  it('says "wrong passphrase" next to the field, and never asks to confirm', async () => {
    const { buy, dialog } = await openBuy();
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'nope');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the purchase' }));
    buy.held().finish({ status: 'error', error: { code: 'wrong_passphrase', message: 'wrong passphrase' } as never });
    const field = await within(dialog).findByLabelText('Passphrase');
    await waitFor(() => expect(field).toHaveAccessibleDescription(/Wrong passphrase/));
    expect(field).toHaveAttribute('aria-invalid', 'true');
    expect(field).toHaveValue('');
    expect(field).toHaveAttribute('type', 'password');
    expect(cmd.answerPlan).not.toHaveBeenCalled();
  });

  it('asks for the passphrase before running anything', async () => {
    await openBuy();
    await userEvent.click(screen.getByRole('button', { name: 'Review the purchase' }));
    expect(cmd.buyToken).not.toHaveBeenCalled();
    expect(screen.getByLabelText('Passphrase')).toHaveAccessibleDescription(/Type this wallet's passphrase/);
  });

  it('shows why the chain refused, in the dialog', async () => {
    const { buy, dialog } = await openBuy();
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the purchase' }));
    buy.held().finish({ status: 'error', error: { code: 'rejected', message: 'execution reverted: NotListed' } as never });
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('The chain refused the transaction');
    expect(dialog).toHaveTextContent('execution reverted: NotListed');
  });

  it('sends a user without a wallet to Wallet & network', async () => {
    cmd.listWallets.mockImplementation(() => ok([]));
    await shown();
    await userEvent.click(within(row('Ada')).getByTestId('buy-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Buy Ada' });
    expect(within(dialog).getByRole('heading', { name: 'No wallet yet' })).toBeInTheDocument();
    expect(within(dialog).getByRole('link', { name: 'Open Wallet & network' })).toHaveAttribute('href', '#/wallet');
    expect(within(dialog).queryByLabelText('Passphrase')).toBeNull();
  });

  it('imports the bought agent with progress, and shows its provenance', async () => {
    const { buy, dialog } = await openBuy();
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the purchase' }));
    buy.held().plans.onmessage(plan());
    await userEvent.click(await screen.findByRole('button', { name: 'Buy for 0.5 ETH' }));
    cmd.market.mockImplementation(() => ok([token({ owner: BUYER, price_wei: null })]));
    buy.held().finish({ status: 'ok', data: trade() });

    let progress: Channel<Fetched> | null = null;
    let finish: (value: { status: 'ok'; data: TokenImport }) => void = () => {};
    cmd.importToken.mockImplementation(((_token: string, ch: Channel<Fetched>) => {
      progress = ch;
      return new Promise((r) => (finish = r));
    }) as never);
    await userEvent.click(await screen.findByTestId('import-now-button'));
    expect(cmd.importToken).toHaveBeenCalledWith(ADA, expect.anything());
    expect(screen.queryByRole('dialog')).toBeNull();

    const bar = await screen.findByRole('progressbar', { name: "Fetching and checking Ada's package" });
    (progress as unknown as Channel<Fetched>).onmessage({ done: 4000, total: 16000 });
    await waitFor(() => expect(bar).toHaveAttribute('aria-valuetext', '4.00 kB of 16.0 kB'));

    finish({
      status: 'ok',
      data: {
        agent: { id: 'ada-2', name: 'Ada', format: 'minted agent', warnings: [] },
        provenance: { chain_id: 31337, contract: CONTRACT, token: ADA, creator: SELLER, owner: BUYER, cid: 'bafkreiada' },
      },
    });
    const result = await screen.findByTestId('import-result');
    expect(result).toHaveTextContent('Imported as Ada, verified against the chain');
    expect(within(result).getByRole('link', { name: 'Open in the editor' })).toHaveAttribute('href', '#/agents/ada-2');
    expect(within(result).getByRole('link', { name: 'Chat with Ada' })).toHaveAttribute('href', '#/chat/ada-2');
    expect(result).toHaveTextContent(SELLER);
    expect(result).toHaveTextContent('bafkreiada');
  });
});

describe('selling, withdrawing and importing', () => {
  beforeEach(() => {
    cmd.market.mockImplementation(() => ok([token({ owner: BUYER, price_wei: null })]));
  });

  it('lists an owned token at a price checked first, signed by its owner', async () => {
    const sell = hold<TradeReport>();
    cmd.sellToken.mockImplementation(sell.impl as never);
    await shown();
    await userEvent.click(within(row('Ada')).getByTestId('sell-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Sell Ada' });
    expect(within(dialog).getByTestId('signer-wallet')).toHaveTextContent(BUYER);
    const price = within(dialog).getByLabelText('Price in ETH');
    await userEvent.type(price, '0,5');
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the listing' }));
    expect(cmd.sellToken).not.toHaveBeenCalled();
    expect(price).toHaveAccessibleDescription(/Type a number of ETH/);

    await userEvent.clear(price);
    await userEvent.type(price, '.25');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the listing' }));
    const held = sell.held();
    expect(cmd.sellToken).toHaveBeenCalledWith(ADA, '0.25', { wallet: BUYER, passphrase: 'pw' }, held.id, held.plans);
    held.plans.onmessage(plan({ value_wei: '0', royalty_wei: null }));
    const confirm = await screen.findByRole('alertdialog', { name: 'List Ada for 0.25 ETH?' });
    expect(within(confirm).getByTestId('amount-asking')).toHaveTextContent('0.25 ETH');
    expect(within(confirm).queryByTestId('amount-price')).toBeNull();
    expect(within(confirm).getByTestId('amount-total')).toHaveTextContent('up to 0.00024 ETH');
    await userEvent.click(within(confirm).getByRole('button', { name: 'List for sale' }));
    expect(cmd.answerPlan).toHaveBeenCalledWith(held.id, true);
    held.finish({ status: 'ok', data: trade({ price_wei: '250000000000000000', royalty_wei: null }) });
    expect(await screen.findByTestId('tx-result')).toHaveTextContent('Ada is for sale at 0.25 ETH');
  });

  it('withdraws a listing', async () => {
    cmd.market.mockImplementation(() => ok([token({ owner: BUYER })]));
    const cancel = hold<TradeReport>();
    cmd.cancelListing.mockImplementation(cancel.impl as never);
    await shown();
    await userEvent.click(within(row('Ada')).getByTestId('cancel-listing-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Withdraw Ada from sale' });
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review' }));
    const held = cancel.held();
    expect(held.token).toBe(ADA);
    held.plans.onmessage(plan({ value_wei: '0', royalty_wei: null }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Withdraw Ada from sale?' });
    await userEvent.click(within(confirm).getByRole('button', { name: 'Withdraw from sale' }));
    expect(cmd.answerPlan).toHaveBeenCalledWith(held.id, true);
    held.finish({ status: 'ok', data: trade({ price_wei: null, royalty_wei: null }) });
    expect(await screen.findByTestId('tx-result')).toHaveTextContent('Ada is no longer for sale');
  });

  it('shows a failed import with its reason, and tries again', async () => {
    cmd.importToken.mockImplementation(() => err('verification_failed', 'refusing the token: bad signature'));
    await shown();
    await userEvent.click(within(row('Ada')).getByTestId('import-button'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Verification failed');
    expect(alert).toHaveTextContent('refusing the token: bad signature');
    await userEvent.click(within(alert).getByRole('button', { name: 'Try the import again' }));
    expect(cmd.importToken).toHaveBeenCalledTimes(2);
  });
});

describe('minting', () => {
  it('mints an agent of the library with its royalty, after the plan is confirmed', async () => {
    cmd.market.mockImplementation(() => ok([]));
    const mint = hold<MintReport>();
    cmd.mintAgent.mockImplementation(mint.impl as never);
    render(MarketScreen);
    await userEvent.click(await screen.findByTestId('mint-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Mint an agent' });
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: "Creator's wallet" }), BUYER);
    const royalty = within(dialog).getByLabelText('Royalty on resales (%)');
    await userEvent.clear(royalty);
    await userEvent.type(royalty, '12');
    await userEvent.type(within(dialog).getByLabelText('Passphrase'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the mint' }));
    expect(cmd.mintAgent).not.toHaveBeenCalled();
    expect(within(dialog).getByRole('combobox', { name: 'Agent' })).toHaveAccessibleDescription(/Choose the agent to mint/);
    expect(royalty).toHaveAccessibleDescription(/at most 10%/);

    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: 'Agent' }), 'lena');
    await userEvent.clear(royalty);
    await userEvent.type(royalty, '7.5');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Review the mint' }));
    const held = mint.held();
    expect(cmd.mintAgent).toHaveBeenCalledWith('lena', 750, null, { wallet: BUYER, passphrase: 'pw' }, held.id, held.plans);
    held.plans.onmessage(plan({ value_wei: '0', royalty_wei: null }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Mint Lena?' });
    expect(within(confirm).getByTestId('amount-royalty-rate')).toHaveTextContent('7.5% of each resale');
    expect(within(confirm).getByTestId('amount-fee')).toHaveTextContent('up to 0.00024 ETH');
    expect(cmd.answerPlan).not.toHaveBeenCalled();
    await userEvent.click(within(confirm).getByRole('button', { name: 'Mint' }));
    expect(cmd.answerPlan).toHaveBeenCalledWith(held.id, true);

    cmd.market.mockImplementation(() => ok([token({ token: LENA, name: 'Lena', owner: BUYER, creator: BUYER, price_wei: null })]));
    held.finish({
      status: 'ok',
      data: {
        token: LENA,
        cid: 'bafkreilena',
        status: 'minted',
        creator: BUYER,
        tx_hash: `0x${'34'.repeat(32)}`,
        block_number: 44,
        fee: FEE,
        pinned: null,
      },
    });
    expect(await screen.findByTestId('mint-token')).toHaveTextContent(LENA);
    expect(screen.getByRole('dialog', { name: 'Minted' })).toBeInTheDocument();
    expect(screen.getByTestId('tx-block')).toHaveTextContent('44');

    // From the result, straight to listing it.
    await userEvent.click(screen.getByTestId('sell-minted-button'));
    expect(await screen.findByRole('dialog', { name: 'Sell Lena' })).toBeInTheDocument();
  });
});
