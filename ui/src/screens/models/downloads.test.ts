import type { Channel } from '@tauri-apps/api/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, type Progress } from '../../bindings';
import { enterTauri } from '../../test/tauri';
import { Downloads, progressText, resumable } from './downloads.svelte';

vi.mock('../../bindings', () => ({ commands: { pullModel: vi.fn(), cancelJob: vi.fn() }, events: {} }));

const cmd = vi.mocked(commands);
const TARGET = { kind: 'speech', id: 'whisper-base.en' } as const;

beforeEach(() => {
  vi.resetAllMocks();
  enterTauri();
});

describe('Downloads', () => {
  it('measures the speed, from the start of each file of a multi-file model', async () => {
    let now = 0;
    let progress: Channel<Progress> | null = null;
    let finish: (r: unknown) => void = () => {};
    cmd.pullModel.mockImplementation(((_t: unknown, _id: string, ch: Channel<Progress>) => {
      progress = ch;
      return new Promise((r) => (finish = r));
    }) as never);
    const downloads = new Downloads(() => now);
    const ended = downloads.start(TARGET, 'whisper-base.en');
    const send = (p: Progress) => (progress as unknown as Channel<Progress>).onmessage(p);

    now = 500;
    send({ done: 1_000_000, total: 10_000_000 });
    expect(downloads.get(TARGET)?.rate).toBeNull();
    now = 2000;
    send({ done: 4_000_000, total: 10_000_000 });
    expect(downloads.get(TARGET)?.rate).toBe(2_000_000);
    expect(progressText(downloads.get(TARGET) ?? { done: 0, total: null, rate: null })).toBe('4.00 MB of 10.0 MB · 2.00 MB/s · 0:03 left');

    // The next file starts from 0.
    now = 3000;
    send({ done: 100, total: 500 });
    expect(downloads.get(TARGET)).toMatchObject({ done: 100, total: 500, rate: 2_000_000 });
    now = 5000;
    send({ done: 400_100, total: 1_000_000 });
    expect(downloads.get(TARGET)?.rate).toBe(200_000);

    finish({ status: 'ok', data: { id: 'whisper-base.en', file: 'f', sha256: '', size: 1, arch: 'whisper', source: '', added_at: 0 } });
    await ended;
    expect(downloads.get(TARGET)?.status).toBe('done');
    downloads.dismiss(TARGET);
    expect(downloads.get(TARGET)).toBeUndefined();
  });

  it('starts a target once at a time, and cancels by its request id', async () => {
    cmd.pullModel.mockImplementation(() => new Promise(() => {}));
    cmd.cancelJob.mockResolvedValue(true);
    const downloads = new Downloads();
    void downloads.start(TARGET, 'whisper-base.en');
    void downloads.start(TARGET, 'whisper-base.en');
    expect(cmd.pullModel).toHaveBeenCalledOnce();
    await downloads.cancel(TARGET);
    expect(cmd.cancelJob).toHaveBeenCalledExactlyOnceWith(downloads.get(TARGET)?.requestId);
    expect(downloads.get(TARGET)?.cancelling).toBe(true);
    downloads.dismiss(TARGET);
    expect(downloads.get(TARGET)).toBeDefined();
  });

  it('knows which failures resume', () => {
    expect(resumable({ error: { code: 'download_interrupted' } as never })).toBe(true);
    expect(resumable({ error: { code: 'cancelled' } as never })).toBe(true);
    expect(resumable({ error: { code: 'invalid_input' } as never })).toBe(false);
    expect(resumable({ error: null })).toBe(false);
  });
});
