import { afterEach, describe, expect, it } from 'vitest';
import { Router } from './router.svelte';

afterEach(() => {
  window.history.replaceState(null, '', '#');
});

describe('Router', () => {
  it('starts at the Library and writes it into the address', () => {
    window.history.replaceState(null, '', '#');
    const router = new Router(window);
    expect(router.route).toEqual({ name: 'library' });
    expect(window.location.hash).toBe('#/library');
  });

  it('follows hashchange and remembers the current agent', async () => {
    const router = new Router(window);
    const stop = router.start();
    window.location.hash = '#/agents/lena/lorebook';
    await new Promise((r) => setTimeout(r, 0));
    expect(router.route).toEqual({ name: 'editor', agent: 'lena', tab: 'lorebook' });
    expect(router.agent).toBe('lena');
    window.location.hash = '#/models';
    await new Promise((r) => setTimeout(r, 0));
    expect(router.route).toEqual({ name: 'models' });
    expect(router.agent).toBe('lena');
    stop();
    window.location.hash = '#/wallet';
    await new Promise((r) => setTimeout(r, 0));
    expect(router.route).toEqual({ name: 'models' });
  });

  it('navigates, with or without a history entry', () => {
    const router = new Router(window);
    const before = window.history.length;
    router.navigate({ name: 'chat', agent: 'ada' });
    expect(router.route).toEqual({ name: 'chat', agent: 'ada' });
    expect(window.location.hash).toBe('#/chat/ada');
    router.navigate({ name: 'settings' }, { replace: true });
    expect(router.route).toEqual({ name: 'settings' });
    expect(window.location.hash).toBe('#/settings');
    expect(window.history.length).toBe(before + 1);
  });
});
