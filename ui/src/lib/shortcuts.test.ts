import { describe, expect, it, vi } from 'vitest';
import { ariaShortcut, bindShortcuts, formatCombo, isMac, isTypingTarget, matchesCombo, parseCombo } from './shortcuts';

function key(init: Partial<KeyboardEventInit> & { key: string }) {
  return { code: '', ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...init };
}

describe('parseCombo', () => {
  it('reads Mod as Ctrl, or ⌘ on a Mac', () => {
    expect(parseCombo('Mod+K', false)).toEqual({ ctrl: true, alt: false, shift: false, meta: false, key: 'k' });
    expect(parseCombo('Mod+K', true)).toEqual({ ctrl: false, alt: false, shift: false, meta: true, key: 'k' });
  });

  it('reads modifiers, named keys and the plus key', () => {
    expect(parseCombo('Alt+Shift+ArrowDown', false)).toMatchObject({ alt: true, shift: true, key: 'arrowdown' });
    expect(parseCombo('Esc', false)).toMatchObject({ key: 'escape' });
    expect(parseCombo('Ctrl++', false)).toMatchObject({ ctrl: true, key: '+' });
    expect(parseCombo('+', false)).toMatchObject({ ctrl: false, key: '+' });
  });

  it('refuses nonsense', () => {
    expect(() => parseCombo('Hyper+K', false)).toThrow(/unknown modifier/);
    expect(() => parseCombo('Ctrl+', false)).toThrow(/no key/);
  });
});

describe('matchesCombo', () => {
  const ctrlK = parseCombo('Mod+K', false);

  it('matches exactly', () => {
    expect(matchesCombo(key({ key: 'k', ctrlKey: true }), ctrlK)).toBe(true);
    expect(matchesCombo(key({ key: 'K', ctrlKey: true, shiftKey: true }), ctrlK)).toBe(false);
    expect(matchesCombo(key({ key: 'k' }), ctrlK)).toBe(false);
    expect(matchesCombo(key({ key: 'k', ctrlKey: true, altKey: true }), ctrlK)).toBe(false);
  });

  it('matches the physical key when a modifier changed the character', () => {
    // Option+1 on a Mac types "¡".
    expect(matchesCombo(key({ key: '¡', code: 'Digit1', altKey: true }), parseCombo('Alt+1', true))).toBe(true);
  });

  it('ignores Shift inside printable symbols', () => {
    expect(matchesCombo(key({ key: '?', code: 'Slash', shiftKey: true }), parseCombo('?', false))).toBe(true);
  });
});

describe('formatting', () => {
  it('writes combos for each platform', () => {
    expect(formatCombo(parseCombo('Mod+K', false), false)).toBe('Ctrl+K');
    expect(formatCombo(parseCombo('Mod+K', true), true)).toBe('⌘K');
    expect(formatCombo(parseCombo('Alt+Shift+Escape', false), false)).toBe('Alt+Shift+Esc');
    expect(ariaShortcut(parseCombo('Mod+K', false))).toBe('Control+K');
    expect(ariaShortcut(parseCombo('Alt+escape', false))).toBe('Alt+Escape');
  });

  it('detects a Mac', () => {
    expect(isMac({ platform: 'MacIntel', userAgent: '' })).toBe(true);
    expect(isMac({ platform: 'Linux x86_64', userAgent: '' })).toBe(false);
    expect(isMac(undefined)).toBe(false);
  });
});

describe('isTypingTarget', () => {
  it('knows text fields from buttons', () => {
    const input = document.createElement('input');
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox' });
    expect(isTypingTarget(input)).toBe(true);
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true);
    expect(isTypingTarget(document.createElement('select'))).toBe(true);
    expect(isTypingTarget(checkbox)).toBe(false);
    expect(isTypingTarget(document.createElement('button'))).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});

describe('bindShortcuts', () => {
  it('runs the first match, and respects fields', () => {
    const palette = vi.fn();
    const help = vi.fn();
    const stop = bindShortcuts(
      window,
      [
        { keys: 'Mod+K', run: palette, inFields: true },
        { keys: '?', run: help },
      ],
      false,
    );
    const input = document.createElement('input');
    document.body.append(input);
    input.dispatchEvent(new KeyboardEvent('keydown', { key: '?', bubbles: true }));
    expect(help).not.toHaveBeenCalled();
    const event = new KeyboardEvent('keydown', { key: 'k', ctrlKey: true, bubbles: true, cancelable: true });
    input.dispatchEvent(event);
    expect(palette).toHaveBeenCalledOnce();
    expect(event.defaultPrevented).toBe(true);
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: '?', bubbles: true }));
    expect(help).toHaveBeenCalledOnce();
    stop();
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', ctrlKey: true }));
    expect(palette).toHaveBeenCalledOnce();
    input.remove();
  });
});
