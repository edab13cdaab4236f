import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, type ChainStatus } from '../../bindings';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import WalletScreen from './WalletScreen.svelte';

vi.mock('../../bindings', () => ({
  commands: {
    chainStatus: vi.fn(),
    startChain: vi.fn(),
    stopChain: vi.fn(),
    listWallets: vi.fn(),
    walletBalance: vi.fn(),
    createWallet: vi.fn(),
    importWallet: vi.fn(),
  },
  events: {},
}));

const cmd = vi.mocked(commands);

const A = '0xAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa';
const B = '0xBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBb';
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

const ok = <T,>(data: T) => Promise.resolve({ status: 'ok' as const, data });
const err = (code: string, message: string) =>
  Promise.resolve({ status: 'error' as const, error: { code, message } as never });

function running(over: Partial<ChainStatus> = {}): ChainStatus {
  return {
    network: { kind: 'local', rpc_url: null, chain_id: 31337, contract: CONTRACT },
    rpc_url: 'http://127.0.0.1:8545',
    reachable: true,
    block: 1234,
    contract_deployed: true,
    local_node: { pid: 4242, port: 8545 },
    error: null,
    gateways: ['http://127.0.0.1:8080'],
    ...over,
  };
}

const stopped = (): ChainStatus =>
  running({
    rpc_url: null,
    reachable: false,
    block: null,
    contract_deployed: false,
    local_node: null,
    error: 'the local chain is not running: `familiar chain start` starts it',
    gateways: [],
  });

beforeEach(() => {
  vi.resetAllMocks();
  enterTauri();
  cmd.chainStatus.mockImplementation(() => ok(running()));
  cmd.listWallets.mockImplementation(() => ok([A, B]));
  cmd.walletBalance.mockImplementation((wallet) =>
    ok({ address: wallet ?? A, wei: wallet === A ? '100000000000000000000' : '1500000000000000000', ether: '', chain_id: 31337 }),
  );
});

afterEach(() => {
  document.body.innerHTML = '';
  toasts.clear();
});

function walletRow(address: string): HTMLElement {
  const el = screen.getAllByTestId('wallet-row').find((r) => r.dataset.address === address);
  if (!el) throw new Error(`no row for ${address}`);
  return el;
}

describe('the network', () => {
  it('shows the chain: network, state, RPC, contract, node and gateways', async () => {
    render(WalletScreen);
    const panel = await screen.findByTestId('chain-status');
    expect(within(panel).getByRole('heading', { name: 'Network' })).toBeInTheDocument();
    expect(within(panel).getByTestId('chain-network')).toHaveTextContent('Local chain, on this computer (chain id 31337)');
    expect(within(panel).getByTestId('chain-state')).toHaveTextContent('Connected, block 1,234');
    expect(panel).toHaveTextContent('http://127.0.0.1:8545');
    expect(panel).toHaveTextContent(`${CONTRACT} · deployed`);
    expect(within(panel).getByTestId('chain-node')).toHaveTextContent('Running: process 4242, port 8545');
    expect(panel).toHaveTextContent('http://127.0.0.1:8080');
    expect(within(panel).queryByRole('button', { name: 'Start the local chain' })).toBeNull();
  });

  it('guides to start a stopped local chain, without reading balances from it', async () => {
    cmd.chainStatus.mockImplementation(() => ok(stopped()));
    cmd.startChain.mockImplementation(() => ok(running()));
    render(WalletScreen);
    expect(await screen.findByRole('heading', { name: 'The local chain is not running' })).toBeInTheDocument();
    expect(screen.getByTestId('chain-state')).toHaveTextContent('Not running');
    expect(screen.getByText('Balances show once the chain is running.')).toBeInTheDocument();
    expect(within(walletRow(A)).getByTestId('wallet-balance')).toHaveTextContent('—');
    expect(cmd.walletBalance).not.toHaveBeenCalled();

    cmd.chainStatus.mockImplementation(() => ok(running()));
    await userEvent.click(screen.getByRole('button', { name: 'Start the local chain' }));
    expect(cmd.startChain).toHaveBeenCalledOnce();
    await waitFor(() => expect(within(walletRow(A)).getByTestId('wallet-balance')).toHaveTextContent('100 ETH'));
    expect(within(walletRow(B)).getByTestId('wallet-balance')).toHaveTextContent('1.5 ETH');
    expect(cmd.walletBalance).toHaveBeenCalledWith(A);
  });

  it('says why the local chain could not start', async () => {
    cmd.chainStatus.mockImplementation(() => ok(stopped()));
    cmd.startChain.mockImplementation(() => err('chain_unavailable', 'anvil was not found'));
    render(WalletScreen);
    await userEvent.click(await screen.findByRole('button', { name: 'Start the local chain' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('anvil was not found');
  });

  it('stops the local chain', async () => {
    cmd.stopChain.mockImplementation(() => ok(true));
    render(WalletScreen);
    await userEvent.click(await screen.findByRole('button', { name: 'Stop the local chain' }));
    expect(cmd.stopChain).toHaveBeenCalledOnce();
    await waitFor(() => expect(cmd.chainStatus).toHaveBeenCalledTimes(2));
  });

  it('says a custom network cannot be reached, with its error', async () => {
    cmd.chainStatus.mockImplementation(() =>
      ok(
        running({
          network: { kind: 'custom', rpc_url: 'https://rpc.example', chain_id: 84532, contract: CONTRACT },
          rpc_url: 'https://rpc.example',
          reachable: false,
          block: null,
          local_node: null,
          error: 'cannot reach the chain at https://rpc.example',
        }),
      ),
    );
    render(WalletScreen);
    expect(await screen.findByRole('heading', { name: 'The network cannot be reached' })).toBeInTheDocument();
    expect(screen.getByTestId('chain-network')).toHaveTextContent('Custom network (chain id 84532)');
    expect(screen.getByText('cannot reach the chain at https://rpc.example')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /local chain/ })).toBeNull();
  });
});

describe('wallets', () => {
  it('lists wallets with their balances in ETH', async () => {
    render(WalletScreen);
    await waitFor(() => expect(within(walletRow(A)).getByTestId('wallet-balance')).toHaveTextContent('100 ETH'));
    expect(within(walletRow(A)).getByTestId('wallet-address')).toHaveTextContent(A);
    expect(screen.getByRole('list', { name: 'Wallets' })).toBeInTheDocument();
  });

  it('shows no wallet as a first step, not an error', async () => {
    cmd.listWallets.mockImplementation(() => ok([]));
    render(WalletScreen);
    expect(await screen.findByRole('heading', { name: 'No wallet yet' })).toBeInTheDocument();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getAllByRole('button', { name: 'Create a wallet' })).toHaveLength(2);
  });

  it('creates a wallet once the passphrase is typed twice the same, and forgets it', async () => {
    cmd.createWallet.mockImplementation(() => ok(B));
    render(WalletScreen);
    await userEvent.click(await screen.findByTestId('create-wallet-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Create a wallet' });
    const first = within(dialog).getByLabelText('Passphrase');
    const second = within(dialog).getByLabelText('Passphrase again');
    expect(first).toHaveAttribute('type', 'password');
    expect(first).toHaveAttribute('autocomplete', 'new-password');
    await userEvent.type(first, 'open sesame');
    await userEvent.type(second, 'open sesam');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create the wallet' }));
    expect(cmd.createWallet).not.toHaveBeenCalled();
    expect(second).toHaveAccessibleDescription(/The two passphrases differ/);

    await userEvent.type(second, 'e');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create the wallet' }));
    expect(cmd.createWallet).toHaveBeenCalledExactlyOnceWith('open sesame');
    expect(await within(dialog).findByTestId('new-wallet-address')).toHaveTextContent(B);
    expect(screen.getByRole('dialog', { name: 'Wallet created' })).toBeInTheDocument();
    await waitFor(() => expect(cmd.listWallets).toHaveBeenCalledTimes(2));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    await userEvent.click(screen.getByTestId('create-wallet-button'));
    const again = await screen.findByRole('dialog', { name: 'Create a wallet' });
    expect(within(again).getByLabelText('Passphrase')).toHaveValue('');
  });

  it('imports a wallet from a private key', async () => {
    cmd.importWallet.mockImplementation(() => ok(B));
    render(WalletScreen);
    await userEvent.click(await screen.findByTestId('import-wallet-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Import a wallet' });
    expect(within(dialog).getByRole('radio', { name: 'A private key' })).toBeChecked();
    const key = within(dialog).getByLabelText('Private key');
    await userEvent.type(key, '1234');
    await userEvent.type(within(dialog).getByLabelText('New passphrase'), 'pw');
    await userEvent.type(within(dialog).getByLabelText('New passphrase again'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Import the wallet' }));
    expect(cmd.importWallet).not.toHaveBeenCalled();
    expect(key).toHaveAccessibleDescription(/64 hexadecimal digits/);

    await userEvent.clear(key);
    await userEvent.type(key, `0x${'ac'.repeat(32)}`);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Import the wallet' }));
    expect(cmd.importWallet).toHaveBeenCalledExactlyOnceWith({ kind: 'key', key: `0x${'ac'.repeat(32)}` }, 'pw');
    expect(await within(dialog).findByTestId('new-wallet-address')).toHaveTextContent(B);
  });

  it('imports a wallet from a recovery phrase and an account number', async () => {
    cmd.importWallet.mockImplementation(() => ok(B));
    render(WalletScreen);
    await userEvent.click(await screen.findByTestId('import-wallet-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Import a wallet' });
    await userEvent.click(within(dialog).getByRole('radio', { name: 'A recovery phrase' }));
    await userEvent.type(
      within(dialog).getByLabelText('Recovery phrase'),
      'test test test test test test test test test test test junk',
    );
    const account = within(dialog).getByLabelText('Account number');
    await userEvent.clear(account);
    await userEvent.type(account, '2');
    await userEvent.type(within(dialog).getByLabelText('New passphrase'), 'pw');
    await userEvent.type(within(dialog).getByLabelText('New passphrase again'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Import the wallet' }));
    expect(cmd.importWallet).toHaveBeenCalledExactlyOnceWith(
      { kind: 'mnemonic', phrase: 'test test test test test test test test test test test junk', index: 2 },
      'pw',
    );
  });

  it('shows why an import was refused, and clears the secret', async () => {
    cmd.importWallet.mockImplementation(() => err('invalid_input', 'the recovery phrase is not valid BIP-39'));
    render(WalletScreen);
    await userEvent.click(await screen.findByTestId('import-wallet-button'));
    const dialog = await screen.findByRole('dialog', { name: 'Import a wallet' });
    await userEvent.type(within(dialog).getByLabelText('Private key'), 'ac'.repeat(32));
    await userEvent.type(within(dialog).getByLabelText('New passphrase'), 'pw');
    await userEvent.type(within(dialog).getByLabelText('New passphrase again'), 'pw');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Import the wallet' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('the recovery phrase is not valid BIP-39');
    expect(within(dialog).getByLabelText('Private key')).toHaveValue('');
    expect(within(dialog).getByLabelText('New passphrase')).toHaveValue('');
  });
});
