import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import ConfirmDialog from '../ConfirmDialog.svelte';
import Modal from '../Modal.svelte';
import { AppError } from '../../lib/ipc';
import { html } from '../../test/snippets.svelte';

function opener() {
  const button = document.createElement('button');
  button.textContent = 'Open';
  document.body.append(button);
  button.focus();
  return button;
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('Modal', () => {
  function setup(props: Record<string, unknown> = {}) {
    const before = opener();
    const onclose = vi.fn();
    const result = render(Modal, {
      props: {
        open: true,
        title: 'Rename agent',
        description: 'The new name shows everywhere.',
        onclose,
        children: html('<div><label for="n">Name</label><input id="n"><button type="button">Check</button></div>'),
        footer: html('<div><button type="button">Save</button></div>'),
        ...props,
      },
    });
    return { before, onclose, ...result };
  }

  it('is a labelled, described modal dialog in <body> that takes focus', async () => {
    setup();
    const dialog = screen.getByRole('dialog', { name: 'Rename agent' });
    expect(dialog).toHaveAttribute('aria-modal', 'true');
    expect(dialog).toHaveAccessibleDescription('The new name shows everywhere.');
    expect(dialog.closest('.layer')?.parentElement).toBe(document.body);
    await waitFor(() => expect(screen.getByLabelText('Name')).toHaveFocus());
  });

  it('keeps Tab inside and the rest of the page inert', async () => {
    const { before } = setup();
    await waitFor(() => expect(screen.getByLabelText('Name')).toHaveFocus());
    expect(before.closest('[inert]') ?? before.hasAttribute('inert')).toBeTruthy();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'Check' })).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'Save' })).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'Close' })).toHaveFocus();
    await userEvent.tab();
    expect(screen.getByLabelText('Name')).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(screen.getByRole('button', { name: 'Close' })).toHaveFocus();
  });

  it('closes on Esc and gives focus back', async () => {
    const { before, onclose } = setup();
    await waitFor(() => expect(screen.getByLabelText('Name')).toHaveFocus());
    await userEvent.keyboard('{Escape}');
    expect(onclose).toHaveBeenCalledOnce();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(before).toHaveFocus();
    expect(before).not.toHaveAttribute('inert');
  });

  it('closes on the backdrop and the close button, not on clicks inside', async () => {
    const { onclose, rerender } = setup();
    await fireEvent.pointerDown(screen.getByRole('dialog'));
    expect(onclose).not.toHaveBeenCalled();
    await fireEvent.pointerDown(screen.getByRole('dialog').parentElement as HTMLElement);
    expect(onclose).toHaveBeenCalledOnce();
    await rerender({ open: true });
    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(onclose).toHaveBeenCalledTimes(2);
  });

  it('cannot be dismissed while not dismissible', async () => {
    const { onclose } = setup({ dismissible: false });
    await waitFor(() => expect(screen.getByLabelText('Name')).toHaveFocus());
    await userEvent.keyboard('{Escape}');
    await fireEvent.pointerDown(screen.getByRole('dialog').parentElement as HTMLElement);
    expect(onclose).not.toHaveBeenCalled();
    expect(screen.getByRole('dialog')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Close' })).toBeNull();
  });

  it('focuses what it is told to', async () => {
    setup({ initialFocus: 'footer button' });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Save' })).toHaveFocus());
  });
});

describe('ConfirmDialog', () => {
  const purchase = {
    open: true,
    title: 'Buy Lena?',
    message: 'The agent is transferred to your wallet when the transaction is confirmed.',
    amounts: [
      { label: 'Price', value: '0.05 ETH' },
      { label: 'Royalty', value: '0.0025 ETH', note: '5% to the creator, out of the price' },
      { label: 'Network fee', value: 'up to 0.00042 ETH' },
    ],
    total: { label: 'Total', value: 'up to 0.05042 ETH' },
    confirmLabel: 'Buy for 0.05 ETH',
  };

  it('shows every amount and starts on Cancel', async () => {
    opener();
    render(ConfirmDialog, { props: { ...purchase, onconfirm: vi.fn() } });
    const dialog = screen.getByRole('alertdialog', { name: 'Buy Lena?' });
    const rows = Array.from(dialog.querySelectorAll('dl .row')).map((r) => r.textContent?.replace(/\s+/g, ' ').trim());
    expect(rows).toEqual([
      'Price 0.05 ETH',
      'Royalty 0.0025 ETH 5% to the creator, out of the price',
      'Network fee up to 0.00042 ETH',
      'Total up to 0.05042 ETH',
    ]);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus());
  });

  it('confirms, then closes', async () => {
    const onconfirm = vi.fn(async () => {});
    render(ConfirmDialog, { props: { ...purchase, onconfirm } });
    await userEvent.click(screen.getByRole('button', { name: 'Buy for 0.05 ETH' }));
    expect(onconfirm).toHaveBeenCalledOnce();
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
  });

  it('stays open and says what went wrong when the action fails', async () => {
    const onconfirm = vi.fn(async () => {
      throw new AppError('wrong_passphrase', 'could not decrypt the keystore');
    });
    render(ConfirmDialog, {
      props: {
        ...purchase,
        onconfirm,
        children: html('<div><label for="pp">Passphrase</label><input id="pp" type="password"></div>'),
      },
    });
    await waitFor(() => expect(screen.getByLabelText('Passphrase')).toHaveFocus());
    await userEvent.keyboard('hunter2{Enter}');
    expect(onconfirm).toHaveBeenCalledOnce();
    const alert = await screen.findByText(/Wrong passphrase/);
    expect(alert.closest('[role="alert"]')).not.toBeNull();
    expect(screen.getByRole('alertdialog')).toBeInTheDocument();
    expect(screen.queryByText('could not decrypt the keystore')).toBeNull();
  });

  it('shows the core message for errors that need it', async () => {
    render(ConfirmDialog, {
      props: {
        ...purchase,
        onconfirm: async () => {
          throw new AppError('rejected', 'the token is not listed');
        },
      },
    });
    await userEvent.click(screen.getByRole('button', { name: 'Buy for 0.05 ETH' }));
    expect(await screen.findByText('the token is not listed')).toBeInTheDocument();
  });

  it('cannot be cancelled while the action runs', async () => {
    let finish: () => void = () => {};
    const oncancel = vi.fn();
    render(ConfirmDialog, {
      props: { ...purchase, oncancel, onconfirm: () => new Promise<void>((r) => (finish = r)) },
    });
    await userEvent.click(screen.getByRole('button', { name: 'Buy for 0.05 ETH' }));
    expect(screen.getByRole('button', { name: 'Buy for 0.05 ETH' })).toHaveAttribute('aria-busy', 'true');
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeDisabled();
    await userEvent.keyboard('{Escape}');
    expect(screen.getByRole('alertdialog')).toBeInTheDocument();
    finish();
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(oncancel).not.toHaveBeenCalled();
  });

  it('cancels with the button and with Esc', async () => {
    const oncancel = vi.fn();
    const onconfirm = vi.fn();
    const { rerender } = render(ConfirmDialog, {
      props: { ...purchase, tone: 'danger', confirmLabel: 'Delete', oncancel, onconfirm },
    });
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    await rerender({ open: true });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus());
    await userEvent.keyboard('{Escape}');
    expect(oncancel).toHaveBeenCalledTimes(2);
    expect(onconfirm).not.toHaveBeenCalled();
  });

  it('marks the values that have a test id, and only those, and its two buttons', () => {
    render(ConfirmDialog, {
      props: {
        ...purchase,
        amounts: [{ label: 'Price', value: '0.05 ETH', testid: 'amount-price' }, { label: 'Note', value: 'none' }],
        total: { label: 'Total', value: 'up to 0.05042 ETH', testid: 'amount-total' },
        onconfirm: vi.fn(),
      },
    });
    expect(screen.getByTestId('amount-price')).toHaveTextContent(/^0\.05 ETH$/);
    expect(screen.getByTestId('amount-total')).toHaveTextContent(/^up to 0\.05042 ETH$/);
    expect(screen.getByRole('alertdialog').querySelectorAll('dl [data-testid]')).toHaveLength(2);
    expect(screen.getByTestId('confirm-dialog-confirm')).toHaveAccessibleName('Buy for 0.05 ETH');
    expect(screen.getByTestId('confirm-dialog-cancel')).toHaveAccessibleName('Cancel');
  });
});
