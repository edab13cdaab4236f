import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ToastQueue } from './toasts.svelte';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('ToastQueue', () => {
  it('shows and times out', () => {
    const q = new ToastQueue();
    q.show({ message: 'Saved' });
    expect(q.items.map((t) => t.message)).toEqual(['Saved']);
    vi.advanceTimersByTime(4999);
    expect(q.items).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(q.items).toHaveLength(0);
  });

  it('keeps errors until dismissed, and actions longer', () => {
    const q = new ToastQueue();
    const err = q.show({ message: 'Export failed', tone: 'error' });
    q.show({ message: 'Lena moved to the trash', action: { label: 'Undo', run: () => {} } });
    vi.advanceTimersByTime(9_999);
    expect(q.items).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(q.items.map((t) => t.id)).toEqual([err]);
    vi.advanceTimersByTime(60_000);
    expect(q.items).toHaveLength(1);
    q.dismiss(err);
    expect(q.items).toHaveLength(0);
  });

  it('undoes: runs the action once and removes the notice', async () => {
    const q = new ToastQueue();
    const undo = vi.fn(async () => {});
    const id = q.show({ message: 'Lena moved to the trash', action: { label: 'Undo', run: undo } });
    await q.act(id);
    await q.act(id);
    expect(undo).toHaveBeenCalledOnce();
    expect(q.items).toHaveLength(0);
  });

  it('undoes the newest action from the keyboard', async () => {
    const q = new ToastQueue();
    const first = vi.fn();
    const second = vi.fn();
    q.show({ message: 'A deleted', action: { label: 'Undo', run: first } });
    q.show({ message: 'B deleted', action: { label: 'Undo', run: second } });
    q.show({ message: 'Saved' });
    expect(await q.actLatest()).toBe(true);
    expect(second).toHaveBeenCalledOnce();
    expect(first).not.toHaveBeenCalled();
    expect(q.items.map((t) => t.message)).toEqual(['A deleted', 'Saved']);
    await q.actLatest();
    expect(await q.actLatest()).toBe(false);
  });

  it('reports a failed action', async () => {
    const q = new ToastQueue();
    const id = q.show({
      message: 'Deleted',
      action: { label: 'Undo', run: () => Promise.reject(new Error('agent not found')) },
    });
    await q.act(id);
    expect(q.items).toHaveLength(1);
    expect(q.items[0]).toMatchObject({ tone: 'error', message: 'Undo failed: agent not found' });
  });

  it('pauses while pointed at', () => {
    const q = new ToastQueue();
    const id = q.show({ message: 'Saved', timeoutMs: 1000 });
    vi.advanceTimersByTime(600);
    q.pause(id);
    vi.advanceTimersByTime(10_000);
    expect(q.items).toHaveLength(1);
    q.resume(id);
    vi.advanceTimersByTime(399);
    expect(q.items).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(q.items).toHaveLength(0);
  });

  it('clears everything', () => {
    const q = new ToastQueue();
    q.show({ message: 'a' });
    q.show({ message: 'b', timeoutMs: null });
    q.clear();
    expect(q.items).toHaveLength(0);
    vi.runAllTimers();
  });
});
