import { describe, expect, it, vi } from 'vitest';
import { screenCommands, screenKeys, screenRoute } from '../palette';

describe('screen commands', () => {
  it('open the editor only for an agent, and the chat of the current agent', () => {
    expect(screenRoute('editor', undefined)).toBeNull();
    expect(screenRoute('editor', 'lena')).toEqual({ name: 'editor', agent: 'lena', tab: 'persona' });
    expect(screenRoute('chat', undefined)).toEqual({ name: 'chat' });
    expect(screenRoute('chat', 'lena')).toEqual({ name: 'chat', agent: 'lena' });
    expect(screenRoute('models', 'lena')).toEqual({ name: 'models' });
  });

  it('number the screens in sidebar order', () => {
    expect(screenKeys('library')).toBe('Alt+1');
    expect(screenKeys('editor')).toBe('Alt+2');
    expect(screenKeys('settings')).toBe('Alt+7');
  });

  it('list what can be opened, with shortcuts, and navigate', () => {
    const navigate = vi.fn();
    const none = screenCommands(undefined, navigate, false);
    expect(none.map((c) => c.label)).toEqual([
      'Library',
      'Chat',
      'Marketplace',
      'Wallet & network',
      'Models',
      'Settings',
    ]);
    const withAgent = screenCommands('lena', navigate, true);
    const editor = withAgent.find((c) => c.id === 'screen:editor');
    expect(editor).toMatchObject({ label: 'Agent editor: lena', keys: '⌥2' });
    editor?.run();
    expect(navigate).toHaveBeenCalledWith({ name: 'editor', agent: 'lena', tab: 'persona' });
    expect(none[0]?.keys).toBe('Alt+1');
  });
});
