import { afterEach, describe, expect, it, vi } from 'vitest';
import { DropRouter, webviewDropSource, type DropEvent } from './drop';
import { enterTauri } from '../test/tauri';

afterEach(() => {
  document.body.innerHTML = '';
});

function setup() {
  document.body.innerHTML = `
    <section id="cards"><p id="cards-text">drop cards</p></section>
    <section id="docs"></section>
    <p id="elsewhere"></p>`;
  const at: Record<string, string> = { '10,10': 'cards-text', '10,50': 'docs', '10,90': 'elsewhere' };
  let handler: ((e: DropEvent) => void) | null = null;
  const stop = vi.fn();
  const source = vi.fn(async (h: (e: DropEvent) => void) => {
    handler = h;
    return stop;
  });
  const router = new DropRouter(source, {
    hitTest: (x, y) => document.getElementById(at[`${x},${y}`] ?? '') ?? null,
    scale: () => 2,
  });
  const emit = (e: DropEvent) => handler?.(e);
  return { router, source, stop, emit, el: (id: string) => document.getElementById(id) as HTMLElement };
}

describe('DropRouter', () => {
  it('lights up and feeds the zone under the pointer (physical pixels)', async () => {
    const { router, emit, el, source } = setup();
    const cards = { onpaths: vi.fn(), onhover: vi.fn() };
    const docs = { onpaths: vi.fn(), onhover: vi.fn() };
    router.register(el('cards'), cards);
    router.register(el('docs'), docs);
    expect(source).toHaveBeenCalledOnce();
    await Promise.resolve();
    emit({ type: 'enter', paths: ['/a.png'], position: { x: 20, y: 20 } });
    expect(cards.onhover).toHaveBeenLastCalledWith(true);
    emit({ type: 'over', position: { x: 20, y: 100 } });
    expect(cards.onhover).toHaveBeenLastCalledWith(false);
    expect(docs.onhover).toHaveBeenLastCalledWith(true);
    emit({ type: 'drop', paths: ['/notes', '/a.md'], position: { x: 20, y: 100 } });
    expect(docs.onpaths).toHaveBeenCalledWith(['/notes', '/a.md']);
    expect(docs.onhover).toHaveBeenLastCalledWith(false);
    expect(cards.onpaths).not.toHaveBeenCalled();
  });

  it('drops outside every zone go to the catch-all, or nowhere', () => {
    const { router, emit, el } = setup();
    const cards = { onpaths: vi.fn(), onhover: vi.fn() };
    const off = router.register(el('cards'), cards);
    emit({ type: 'drop', paths: ['/x.png'], position: { x: 20, y: 180 } });
    expect(cards.onpaths).not.toHaveBeenCalled();
    off();
    const all = { onpaths: vi.fn(), onhover: vi.fn(), catchAll: true };
    router.register(el('cards'), all);
    emit({ type: 'drop', paths: ['/x.png'], position: { x: 20, y: 180 } });
    expect(all.onpaths).toHaveBeenCalledWith(['/x.png']);
  });

  it('refuses drops while a zone is disabled, and clears on leave', () => {
    const { router, emit, el } = setup();
    let busy = true;
    const cards = { onpaths: vi.fn(), onhover: vi.fn(), disabled: () => busy };
    router.register(el('cards'), cards);
    emit({ type: 'enter', paths: ['/a.png'], position: { x: 20, y: 20 } });
    emit({ type: 'drop', paths: ['/a.png'], position: { x: 20, y: 20 } });
    expect(cards.onhover).not.toHaveBeenCalled();
    expect(cards.onpaths).not.toHaveBeenCalled();
    busy = false;
    emit({ type: 'enter', paths: ['/a.png'], position: { x: 20, y: 20 } });
    emit({ type: 'leave' });
    expect(cards.onhover.mock.calls).toEqual([[true], [false]]);
  });

  it('stops listening when the last zone goes', async () => {
    const { router, el, stop, source } = setup();
    const offA = router.register(el('cards'), { onpaths: vi.fn(), onhover: vi.fn() });
    const offB = router.register(el('docs'), { onpaths: vi.fn(), onhover: vi.fn() });
    offA();
    offA();
    await Promise.resolve();
    expect(stop).not.toHaveBeenCalled();
    offB();
    await vi.waitFor(() => expect(stop).toHaveBeenCalledOnce());
    router.register(el('docs'), { onpaths: vi.fn(), onhover: vi.fn() });
    expect(source).toHaveBeenCalledTimes(2);
  });
});

describe('webviewDropSource', () => {
  it('does nothing outside Tauri', async () => {
    const stop = await webviewDropSource(() => {});
    expect(() => stop()).not.toThrow();
  });

  it("listens to the webview's four drag events inside Tauri", async () => {
    const internals = enterTauri();
    let id = 0;
    internals.invoke.mockImplementation(async (cmd: string) => (cmd === 'plugin:event|listen' ? ++id : undefined));
    const got: DropEvent[] = [];
    const stop = await webviewDropSource((e) => got.push(e));
    const listens = internals.invoke.mock.calls.filter(([cmd]) => cmd === 'plugin:event|listen');
    expect(listens.map(([, args]) => (args as { event: string }).event).sort()).toEqual([
      'tauri://drag-drop',
      'tauri://drag-enter',
      'tauri://drag-leave',
      'tauri://drag-over',
    ]);
    // Deliver a drop the way Tauri does: through the registered callback.
    const dropListen = listens.find(([, args]) => (args as { event: string }).event === 'tauri://drag-drop');
    const handlerId = (dropListen?.[1] as { handler: number }).handler;
    internals.callbacks.get(handlerId)?.({
      event: 'tauri://drag-drop',
      id: 1,
      payload: { paths: ['/cards/lena.png'], position: { x: 4, y: 8 } },
    });
    expect(got).toEqual([{ type: 'drop', paths: ['/cards/lena.png'], position: expect.objectContaining({ x: 4, y: 8 }) }]);
    stop();
  });
});
