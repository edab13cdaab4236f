import { describe, expect, it } from 'vitest';
import { EDITOR_TABS, href, parseRoute, routeAgent, routeTitle, type Route } from './routes';

describe('parseRoute', () => {
  it('opens the Library for an empty address', () => {
    for (const hash of ['', '#', '#/', '#//']) expect(parseRoute(hash)).toEqual({ name: 'library' });
  });

  it('reads every screen', () => {
    expect(parseRoute('#/library')).toEqual({ name: 'library' });
    expect(parseRoute('#/market')).toEqual({ name: 'market' });
    expect(parseRoute('#/wallet')).toEqual({ name: 'wallet' });
    expect(parseRoute('#/models')).toEqual({ name: 'models' });
    expect(parseRoute('#/settings/')).toEqual({ name: 'settings' });
    expect(parseRoute('#/chat')).toEqual({ name: 'chat' });
    expect(parseRoute('#/chat/lena')).toEqual({ name: 'chat', agent: 'lena' });
    expect(parseRoute('#/chat/lena/c-1')).toEqual({ name: 'chat', agent: 'lena', conversation: 'c-1' });
    expect(parseRoute('#/agents/lena')).toEqual({ name: 'editor', agent: 'lena', tab: 'persona' });
    expect(parseRoute('#/agents/lena/voice')).toEqual({ name: 'editor', agent: 'lena', tab: 'voice' });
  });

  it('decodes names', () => {
    expect(parseRoute('#/agents/Captain%20Byte')).toEqual({ name: 'editor', agent: 'Captain Byte', tab: 'persona' });
    expect(parseRoute('#/agents/%E0%A4%A')).toMatchObject({ agent: '%E0%A4%A' });
  });

  it('refuses what it does not know', () => {
    expect(parseRoute('#/nowhere')).toEqual({ name: 'not_found', path: '/nowhere' });
    expect(parseRoute('#/library/extra')).toMatchObject({ name: 'not_found' });
    expect(parseRoute('#/agents')).toMatchObject({ name: 'not_found' });
    expect(parseRoute('#/agents/lena/secrets')).toMatchObject({ name: 'not_found' });
    expect(parseRoute('#/chat/a/b/c')).toMatchObject({ name: 'not_found' });
  });
});

describe('href', () => {
  const routes: Route[] = [
    { name: 'library' },
    { name: 'market' },
    { name: 'wallet' },
    { name: 'models' },
    { name: 'settings' },
    { name: 'chat' },
    { name: 'chat', agent: 'Ada Lovelace' },
    { name: 'chat', agent: 'lena', conversation: 'c/1' },
    ...EDITOR_TABS.map((tab): Route => ({ name: 'editor', agent: 'a#b', tab })),
  ];

  it('round-trips through parseRoute', () => {
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
  });

  it('keeps the short form for the first tab', () => {
    expect(href({ name: 'editor', agent: 'lena', tab: 'persona' })).toBe('#/agents/lena');
  });
});

describe('routeAgent / routeTitle', () => {
  it('names the agent of the editor and the chat only', () => {
    expect(routeAgent({ name: 'editor', agent: 'x', tab: 'history' })).toBe('x');
    expect(routeAgent({ name: 'chat', agent: 'y' })).toBe('y');
    expect(routeAgent({ name: 'chat' })).toBeUndefined();
    expect(routeAgent({ name: 'library' })).toBeUndefined();
  });

  it('titles screens', () => {
    expect(routeTitle({ name: 'wallet' })).toBe('Wallet & network');
    expect(routeTitle({ name: 'not_found', path: '/x' })).toBe('Not found');
  });
});
