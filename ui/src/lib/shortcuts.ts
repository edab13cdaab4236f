/**
 * Keyboard shortcuts: `"Mod+K"` means Ctrl+K, or ⌘K on a Mac.
 *
 * A combo is modifiers plus one key, matched exactly (Ctrl+K is not
 * Ctrl+Shift+K). Letters and digits also match by physical key
 * (`event.code`), so Alt+1 works on a Mac, where Alt changes the character.
 */

export interface Combo {
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
  meta: boolean;
  /** `event.key`, lower-cased for letters (`k`, `1`, `escape`, `arrowdown`, `?`). */
  key: string;
}

/** What matching needs from a keyboard event. */
export type KeyLike = Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'altKey' | 'shiftKey' | 'metaKey'>;

/** Whether this is a Mac (⌘ instead of Ctrl). */
export function isMac(nav: Pick<Navigator, 'platform' | 'userAgent'> | undefined = globalThis.navigator): boolean {
  if (!nav) return false;
  return /mac|iphone|ipad/i.test(nav.platform || nav.userAgent || '');
}

/** Reads `"Mod+Shift+K"`; `Mod` is ⌘ on a Mac and Ctrl elsewhere. */
export function parseCombo(text: string, mac = isMac()): Combo {
  // "Mod++" and "+" name the plus key itself.
  let key: string;
  let modifiers: string;
  if (text === '+') {
    key = '+';
    modifiers = '';
  } else if (text.endsWith('++')) {
    key = '+';
    modifiers = text.slice(0, -2);
  } else {
    const at = text.lastIndexOf('+');
    key = text.slice(at + 1).trim();
    modifiers = at >= 0 ? text.slice(0, at) : '';
  }
  if (!key) throw new Error(`no key in shortcut "${text}"`);
  const parts = modifiers.split('+').map((p) => p.trim());
  const combo: Combo = { ctrl: false, alt: false, shift: false, meta: false, key: key.toLowerCase() };
  for (const part of parts.filter(Boolean)) {
    switch (part.toLowerCase()) {
      case 'mod':
        if (mac) combo.meta = true;
        else combo.ctrl = true;
        break;
      case 'ctrl':
      case 'control':
        combo.ctrl = true;
        break;
      case 'alt':
      case 'option':
        combo.alt = true;
        break;
      case 'shift':
        combo.shift = true;
        break;
      case 'meta':
      case 'cmd':
        combo.meta = true;
        break;
      default:
        throw new Error(`unknown modifier "${part}" in shortcut "${text}"`);
    }
  }
  if (combo.key === 'esc') combo.key = 'escape';
  return combo;
}

function physicalKey(code: string): string | undefined {
  const m = /^(?:Key([A-Z])|Digit([0-9])|Numpad([0-9]))$/.exec(code);
  return m ? (m[1] ?? m[2] ?? m[3])?.toLowerCase() : undefined;
}

/** Whether the event is this combo. */
export function matchesCombo(event: KeyLike, combo: Combo): boolean {
  if (event.ctrlKey !== combo.ctrl || event.altKey !== combo.alt || event.metaKey !== combo.meta) return false;
  const key = event.key.toLowerCase();
  // Shift is part of printable characters ("?" is Shift+/): only compare it for named keys and letters.
  const printable = event.key.length === 1 && !/[a-z]/i.test(event.key);
  if (!printable && event.shiftKey !== combo.shift) return false;
  if (key === combo.key) return true;
  return physicalKey(event.code) === combo.key;
}

/** How a combo is written for people: `Ctrl+K`, or `⌘K` on a Mac. */
export function formatCombo(combo: Combo, mac = isMac()): string {
  const names: Record<string, string> = {
    escape: 'Esc',
    arrowup: '↑',
    arrowdown: '↓',
    arrowleft: '←',
    arrowright: '→',
    enter: 'Enter',
    ' ': 'Space',
  };
  const key = names[combo.key] ?? (combo.key.length === 1 ? combo.key.toUpperCase() : combo.key);
  if (mac) {
    return `${combo.ctrl ? '⌃' : ''}${combo.alt ? '⌥' : ''}${combo.shift ? '⇧' : ''}${combo.meta ? '⌘' : ''}${key}`;
  }
  const mods = [combo.ctrl && 'Ctrl', combo.alt && 'Alt', combo.shift && 'Shift', combo.meta && 'Win'].filter(Boolean);
  return [...mods, key].join('+');
}

/** The `aria-keyshortcuts` value of a combo (`Control+K`, `Meta+K`). */
export function ariaShortcut(combo: Combo): string {
  const mods = [combo.ctrl && 'Control', combo.alt && 'Alt', combo.shift && 'Shift', combo.meta && 'Meta'].filter(
    Boolean,
  );
  const key = combo.key.length === 1 ? combo.key.toUpperCase() : combo.key[0]?.toUpperCase() + combo.key.slice(1);
  return [...mods, key].join('+');
}

/** Whether keys typed here are text (inputs, text areas, selects, editable content). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset', 'file', 'color'].includes(target.type);
  }
  return false;
}

export interface Shortcut {
  /** `"Mod+K"`, `"Alt+1"`, `"Escape"`. */
  keys: string;
  run: (event: KeyboardEvent) => void;
  /** Also while typing in a field (for combos with Ctrl/⌘ or Alt). Default: no. */
  inFields?: boolean;
}

/**
 * Listens for shortcuts on `target` (the window); the first match runs and
 * the event goes no further. Returns what stops listening.
 */
export function bindShortcuts(target: EventTarget, shortcuts: Shortcut[], mac = isMac()): () => void {
  const parsed = shortcuts.map((s) => ({ ...s, combo: parseCombo(s.keys, mac) }));
  const onKey = (e: Event) => {
    const event = e as KeyboardEvent;
    if (event.defaultPrevented || event.isComposing) return;
    const typing = isTypingTarget(event.target);
    for (const s of parsed) {
      if (typing && !s.inFields) continue;
      if (matchesCombo(event, s.combo)) {
        event.preventDefault();
        event.stopPropagation();
        s.run(event);
        return;
      }
    }
  };
  target.addEventListener('keydown', onKey);
  return () => target.removeEventListener('keydown', onKey);
}
