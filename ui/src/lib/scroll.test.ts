import { describe, expect, it, vi } from 'vitest';
import { scrollToBottom, stickToBottom } from './scroll';

function box() {
  const el = document.createElement('div');
  let height = 500;
  Object.defineProperty(el, 'scrollHeight', { configurable: true, get: () => height });
  Object.defineProperty(el, 'clientHeight', { configurable: true, value: 100 });
  document.body.append(el);
  return { el, grow: (h: number) => (height = h) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('stickToBottom', () => {
  it('follows new content until the user scrolls up, and again once back down', async () => {
    const { el, grow } = box();
    const onchange = vi.fn();
    const action = stickToBottom(el, { onchange });
    expect(el.scrollTop).toBe(500);
    grow(800);
    el.append('more');
    await flush();
    expect(el.scrollTop).toBe(800);

    el.scrollTop = 200;
    el.dispatchEvent(new Event('scroll'));
    expect(onchange).toHaveBeenLastCalledWith(false);
    grow(900);
    el.append('even more');
    await flush();
    expect(el.scrollTop).toBe(200);

    scrollToBottom(el);
    expect(onchange).toHaveBeenLastCalledWith(true);
    grow(1000);
    el.append('last');
    await flush();
    expect(el.scrollTop).toBe(1000);
    action.destroy();
    el.remove();
  });
});
