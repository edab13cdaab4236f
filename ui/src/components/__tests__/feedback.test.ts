import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import EmptyState from '../EmptyState.svelte';
import ErrorState from '../ErrorState.svelte';
import ProgressBar from '../ProgressBar.svelte';
import Toaster from '../Toaster.svelte';
import { AppError } from '../../lib/ipc';
import { ToastQueue } from '../../lib/toasts.svelte';
import { html } from '../../test/snippets.svelte';

describe('Toaster', () => {
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(() => vi.useRealTimers());

  it('shows notices in a polite live region, errors as alerts', async () => {
    const queue = new ToastQueue();
    render(Toaster, { props: { queue } });
    const region = screen.getByRole('region', { name: 'Notifications' });
    expect(region.querySelector('[aria-live="polite"]')).not.toBeNull();
    queue.show({ message: 'Lena exported' });
    queue.show({ message: 'Export failed: disk full', tone: 'error' });
    expect(await screen.findByText('Lena exported')).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('Export failed: disk full');
  });

  it('undoes a delete', async () => {
    const queue = new ToastQueue();
    const undo = vi.fn();
    render(Toaster, { props: { queue } });
    queue.show({ message: 'Lena moved to the trash', action: { label: 'Undo', run: undo } });
    await userEvent.click(await screen.findByRole('button', { name: 'Undo' }));
    expect(undo).toHaveBeenCalledOnce();
    expect(screen.queryByText('Lena moved to the trash')).toBeNull();
  });

  it('is dismissed by its close button, and holds while pointed at', async () => {
    const queue = new ToastQueue();
    render(Toaster, { props: { queue } });
    queue.show({ message: 'Saved', timeoutMs: 1000 });
    queue.show({ message: 'Imported 3 agents', timeoutMs: 1000 });
    const saved = await screen.findByText('Saved');
    await userEvent.hover(saved);
    vi.advanceTimersByTime(5000);
    expect(screen.getByText('Saved')).toBeInTheDocument();
    await vi.waitFor(() => expect(screen.queryByText('Imported 3 agents')).toBeNull());
    await userEvent.click(screen.getByRole('button', { name: 'Dismiss: Saved' }));
    expect(screen.queryByText('Saved')).toBeNull();
  });
});

describe('ProgressBar', () => {
  it('is a determinate progressbar with its text', () => {
    render(ProgressBar, {
      props: { label: 'SmolLM2-135M-Instruct', value: 40, max: 160, valueText: '40 MB of 160 MB' },
    });
    const bar = screen.getByRole('progressbar', { name: 'SmolLM2-135M-Instruct' });
    expect(bar).toHaveAttribute('aria-valuenow', '40');
    expect(bar).toHaveAttribute('aria-valuemax', '160');
    expect(bar).toHaveAttribute('aria-valuetext', '40 MB of 160 MB');
    expect(bar.querySelector<HTMLElement>('.fill')?.style.width).toBe('25%');
  });

  it('shows a percentage by default, and clamps', () => {
    render(ProgressBar, { props: { label: 'Ingest', value: 2 } });
    expect(screen.getByRole('progressbar')).toHaveAttribute('aria-valuetext', '100%');
  });

  it('is indeterminate without a value', () => {
    render(ProgressBar, { props: { label: 'Checking the file' } });
    const bar = screen.getByRole('progressbar', { name: 'Checking the file' });
    expect(bar).not.toHaveAttribute('aria-valuenow');
    expect(bar).toHaveClass('indeterminate');
  });

  it('can be cancelled while running, not after it failed', async () => {
    const oncancel = vi.fn();
    const { rerender } = render(ProgressBar, { props: { label: 'gemma-3-270m', value: 0.3, oncancel } });
    const cancel = screen.getByRole('button', { name: 'Cancel' });
    expect(cancel).toHaveAccessibleDescription('gemma-3-270m');
    await userEvent.click(cancel);
    expect(oncancel).toHaveBeenCalledOnce();
    await rerender({ status: 'failed', valueText: 'Stopped at 30%' });
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
    expect(screen.getByRole('progressbar')).toHaveAttribute('aria-valuetext', 'Stopped at 30%');
  });
});

describe('EmptyState', () => {
  it('says what is missing and what to do', () => {
    render(EmptyState, {
      props: {
        title: 'No agents yet',
        body: 'Import a character card, or create an agent from scratch.',
        icon: 'library',
        children: html('<button type="button">Import a card</button>'),
      },
    });
    expect(screen.getByRole('heading', { level: 2, name: 'No agents yet' })).toBeInTheDocument();
    expect(screen.getByText(/Import a character card/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Import a card' })).toBeInTheDocument();
  });

  it('has no icon, words or actions it was not given, and is not announced', () => {
    const { container } = render(EmptyState, { props: { title: 'The trash is empty', headingLevel: 3 } });
    const state = container.querySelector('section.state') as HTMLElement;
    expect(state.children).toHaveLength(1);
    expect(screen.getByRole('heading', { level: 3, name: 'The trash is empty' })).toBeInTheDocument();
    expect(state).not.toHaveAttribute('role');
    expect(state).not.toHaveClass('warning');
  });
});

describe('ErrorState', () => {
  it('guides to the fix for a missing model', () => {
    render(ErrorState, { props: { error: new AppError('no_model', 'no model is installed') } });
    expect(screen.getByRole('heading', { name: 'No model yet' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Open Models' })).toHaveAttribute('href', '#/models');
    expect(screen.getByText('no model is installed')).toBeInTheDocument();
  });

  it('offers a retry where the error can be retried', async () => {
    const onretry = vi.fn();
    render(ErrorState, {
      props: { error: new AppError('download_interrupted', 'connection reset after 40 MB'), onretry },
    });
    expect(screen.getByRole('heading', { name: 'The download stopped' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Resume the download' }));
    expect(onretry).toHaveBeenCalledOnce();
  });

  it('hides a retry nobody handles', () => {
    render(ErrorState, { props: { error: new AppError('wrong_passphrase', 'mac mismatch') } });
    expect(screen.queryByRole('button')).toBeNull();
    expect(screen.queryByText('mac mismatch')).toBeNull();
  });

  it('explains the missing core, and can be announced', () => {
    render(ErrorState, {
      props: { error: new AppError('core_unavailable', 'x'), live: true, headingLevel: 3 },
    });
    expect(screen.getByRole('alert')).toBeInTheDocument();
    expect(screen.getByRole('heading', { level: 3, name: "The studio's core is not running" })).toBeInTheDocument();
    expect(screen.getByText(/Open the Familiar desktop app/)).toBeInTheDocument();
  });

  it('takes words of its own', () => {
    render(ErrorState, { props: { title: 'No chain', body: 'Start the local chain.' } });
    expect(screen.getByRole('heading', { name: 'No chain' })).toBeInTheDocument();
    expect(screen.getByText('Start the local chain.')).toBeInTheDocument();
  });

  it('has a compact form for dialogs and lists, with the same words and a small action', () => {
    const onretry = vi.fn();
    const { container } = render(ErrorState, {
      props: { error: new AppError('download_interrupted', 'connection reset'), onretry, compact: true, headingLevel: 3 },
    });
    expect(container.querySelector('.state')).toHaveClass('compact');
    expect(screen.getByRole('heading', { level: 3, name: 'The download stopped' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Resume the download' })).toHaveClass('sm');
  });

  it('lays out icon, heading, words, the core’s message and actions in that order', () => {
    const { container } = render(ErrorState, {
      props: {
        error: new AppError('storage', 'could not write', 'disk full'),
        children: html('<button type="button">Show the folder</button>'),
      },
    });
    const state = container.querySelector('section.state') as HTMLElement;
    expect(state).toHaveClass('warning');
    expect(Array.from(state.children, (c) => c.className.split(' ')[0])).toEqual(['icon', 'title', 'body', 'details', 'actions']);
    expect(state.querySelector('.details code')).toHaveTextContent('could not write — disk full');
    expect(screen.getAllByRole('link').concat(screen.getAllByRole('button')).map((b) => b.textContent?.trim())).toEqual([
      'Open Settings',
      'Show the folder',
    ]);
  });
});
