import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import CitationList from '../CitationList.svelte';
import LevelMeter from '../LevelMeter.svelte';
import StreamingText from '../StreamingText.svelte';
import Waveform from '../Waveform.svelte';

describe('LevelMeter', () => {
  it('is a meter with the level in words', async () => {
    const { rerender } = render(LevelMeter, { props: { db: -30 } });
    const meter = screen.getByRole('meter', { name: 'Microphone level' });
    expect(meter).toHaveAttribute('aria-valuemin', '-60');
    expect(meter).toHaveAttribute('aria-valuemax', '0');
    expect(meter).toHaveAttribute('aria-valuenow', '-30');
    expect(meter).toHaveAttribute('aria-valuetext', '−30 dB');
    expect(meter.querySelector<HTMLElement>('.cover')?.style.width).toBe('50%');
    await rerender({ db: -90 });
    expect(meter).toHaveAttribute('aria-valuenow', '-60');
    expect(meter).toHaveAttribute('aria-valuetext', 'silence');
    await rerender({ db: null });
    expect(meter).toHaveAttribute('aria-valuetext', 'off');
    expect(meter.querySelector<HTMLElement>('.cover')?.style.width).toBe('100%');
  });

  it('holds the peak', async () => {
    const { rerender, container } = render(LevelMeter, { props: { db: -6 } });
    await rerender({ db: -40 });
    const peak = container.querySelector<HTMLElement>('.peak');
    expect(peak).not.toBeNull();
    // The peak stays near -6 dB (90% of the scale) while the level dropped to -40 dB.
    expect(Number.parseFloat(peak?.style.left.replace('calc(', '') ?? '0')).toBeGreaterThan(85);
  });
});

describe('Waveform', () => {
  const realGetContext = HTMLCanvasElement.prototype.getContext;
  afterEach(() => {
    HTMLCanvasElement.prototype.getContext = realGetContext;
  });

  it('is an image with a name, and draws one bar per few pixels', async () => {
    const rects: [number, number, number, number][] = [];
    const ctx = {
      setTransform: vi.fn(),
      clearRect: vi.fn(),
      fillRect: (...r: [number, number, number, number]) => rects.push(r),
      fillStyle: '',
    };
    HTMLCanvasElement.prototype.getContext = (() => ctx) as unknown as typeof realGetContext;
    vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(30);
    const { rerender } = render(Waveform, { props: { peaks: [0, 0.5, 1], label: 'Your recording, 0:03', height: 40 } });
    expect(screen.getByRole('img', { name: 'Your recording, 0:03' })).toBeInTheDocument();
    await vi.waitFor(() => expect(rects.length).toBe(10));
    // 30 px at 3 px a bar: 10 bars stretched from 3 peaks, centred on the middle line.
    expect(rects[0]).toEqual([0, 19.5, 2, 1]);
    expect(rects[9]).toEqual([27, 0, 2, 40]);
    rects.length = 0;
    await rerender({ peaks: [1, 1], progress: 0.5 });
    await vi.waitFor(() => expect(rects.length).toBe(10));
  });

  it('does nothing without a 2D context', () => {
    expect(() => render(Waveform, { props: { peaks: [1], label: 'x' } })).not.toThrow();
  });
});

describe('StreamingText', () => {
  it('streams with a stop button and says when it is done', async () => {
    const onstop = vi.fn();
    const { rerender } = render(StreamingText, {
      props: { text: '', streaming: true, label: "Lena's reply", onstop },
    });
    const region = screen.getByRole('region', { name: "Lena's reply" });
    expect(region).toHaveAttribute('aria-busy', 'true');
    expect(region).toHaveTextContent('Thinking…');
    await rerender({ text: 'Hello, I am' });
    expect(region).toHaveTextContent('Hello, I am');
    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(onstop).toHaveBeenCalledOnce();
    expect(screen.getByRole('status')).toHaveTextContent('');
    await rerender({ text: 'Hello, I am Lena.', streaming: false });
    expect(region).toHaveAttribute('aria-busy', 'false');
    expect(screen.queryByRole('button', { name: 'Stop' })).toBeNull();
    expect(screen.getByRole('status')).toHaveTextContent('Finished');
  });

  it('offers to jump to the latest text after the reader scrolled up', async () => {
    render(StreamingText, { props: { text: 'a\nb\nc', streaming: true, label: 'Transcript' } });
    const region = screen.getByRole('region', { name: 'Transcript' });
    Object.defineProperty(region, 'scrollHeight', { configurable: true, value: 1000 });
    Object.defineProperty(region, 'clientHeight', { configurable: true, value: 200 });
    region.scrollTop = 100;
    region.dispatchEvent(new Event('scroll'));
    const jump = await screen.findByRole('button', { name: 'Jump to latest' });
    await userEvent.click(jump);
    expect(region.scrollTop).toBe(1000);
    expect(screen.queryByRole('button', { name: 'Jump to latest' })).toBeNull();
  });
});

describe('CitationList', () => {
  const citations = [
    { id: 11, n: 2, title: 'Jargon File', location: 'section hacker', cited: false },
    {
      id: 7,
      n: 1,
      title: 'The Jargon File',
      location: 'section foo',
      source: 'jargon · /data/jargon.txt',
      excerpt: 'foo: a sample name for absolutely anything',
      cited: true,
    },
  ];

  it('starts collapsed and opens to the sources, cited first', async () => {
    render(CitationList, { props: { citations } });
    const toggle = screen.getByRole('button', { name: 'Sources (2)' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByText('The Jargon File')).not.toBeVisible();
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    const items = screen.getAllByRole('listitem').map((li) => li.textContent?.replace(/\s+/g, ' ').trim());
    expect(items[0]).toMatch(/^\[1\] The Jargon File · section foo/);
    expect(items[1]).toBe('[2] Jargon File · section hacker not cited');
  });

  it('expands one source to its passage', async () => {
    render(CitationList, { props: { citations, open: true } });
    const item = screen.getByRole('button', { name: /\[1\] The Jargon File/ });
    expect(item).toHaveAttribute('aria-expanded', 'false');
    expect(screen.getByText(/sample name for absolutely anything/)).not.toBeVisible();
    await userEvent.click(item);
    expect(item).toHaveAttribute('aria-expanded', 'true');
    expect(screen.getByText(/sample name for absolutely anything/)).toBeVisible();
    expect(screen.getByText('jargon · /data/jargon.txt')).toBeVisible();
  });

  it('renders nothing without citations', () => {
    const { container } = render(CitationList, { props: { citations: [] } });
    expect(container.textContent?.trim()).toBe('');
  });
});
