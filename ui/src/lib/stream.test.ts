import { describe, expect, it, vi } from 'vitest';
import { DeltaBuffer, TextStream } from './stream.svelte';

function manualScheduler() {
  const queue = new Map<number, () => void>();
  let next = 1;
  return {
    schedule: (cb: () => void) => {
      const id = next++;
      queue.set(id, cb);
      return id;
    },
    cancel: (id: number) => void queue.delete(id),
    tick() {
      const due = Array.from(queue.values());
      queue.clear();
      for (const cb of due) cb();
    },
    get pending() {
      return queue.size;
    },
  };
}

describe('DeltaBuffer', () => {
  it('joins the deltas of one frame', () => {
    const s = manualScheduler();
    const flushed = vi.fn();
    const buffer = new DeltaBuffer(flushed, s.schedule, s.cancel);
    buffer.push('Hel');
    buffer.push('');
    buffer.push('lo');
    expect(s.pending).toBe(1);
    expect(flushed).not.toHaveBeenCalled();
    s.tick();
    expect(flushed).toHaveBeenCalledWith('Hello');
    buffer.push(' world');
    buffer.flush();
    expect(flushed).toHaveBeenLastCalledWith(' world');
    expect(s.pending).toBe(0);
  });

  it('discards what is pending', () => {
    const s = manualScheduler();
    const flushed = vi.fn();
    const buffer = new DeltaBuffer(flushed, s.schedule, s.cancel);
    buffer.push('x');
    buffer.discard();
    s.tick();
    buffer.flush();
    expect(flushed).not.toHaveBeenCalled();
  });
});

describe('TextStream', () => {
  it('streams, finishes and restarts', () => {
    const s = manualScheduler();
    const stream = new TextStream(s.schedule, s.cancel);
    stream.start('Once');
    expect(stream.streaming).toBe(true);
    stream.append(' upon');
    stream.append(' a');
    expect(stream.text).toBe('Once');
    s.tick();
    expect(stream.text).toBe('Once upon a');
    stream.append(' time');
    stream.finish();
    expect(stream.text).toBe('Once upon a time');
    expect(stream.streaming).toBe(false);
    stream.start();
    expect(stream.text).toBe('');
    stream.append('late');
    stream.set('final transcript');
    s.tick();
    expect(stream.text).toBe('final transcript');
  });
});
