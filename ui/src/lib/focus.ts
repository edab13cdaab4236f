/**
 * Focus management for dialogs: what can take focus inside an element,
 * keeping Tab inside it, and making everything else inert while it is open.
 */

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  'summary',
  '[tabindex]:not([tabindex="-1"])',
  '[contenteditable="true"]',
].join(',');

/** The elements inside `root` that Tab reaches, in document order. */
export function focusableWithin(root: ParentNode): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => !el.closest('[inert], [hidden], [aria-hidden="true"]') && el.getAttribute('tabindex') !== '-1',
  );
}

/**
 * Keeps Tab and Shift+Tab inside `root`: from the last element Tab goes to the
 * first and back. Call from a keydown handler; returns whether it acted.
 */
export function trapTab(event: KeyboardEvent, root: HTMLElement): boolean {
  if (event.key !== 'Tab') return false;
  const items = focusableWithin(root);
  if (items.length === 0) {
    event.preventDefault();
    root.focus();
    return true;
  }
  const first = items[0] as HTMLElement;
  const last = items[items.length - 1] as HTMLElement;
  const active = root.ownerDocument.activeElement;
  const inside = active instanceof Node && root.contains(active);
  if (event.shiftKey && (active === first || !inside || active === root)) {
    event.preventDefault();
    last.focus();
    return true;
  }
  if (!event.shiftKey && (active === last || !inside)) {
    event.preventDefault();
    first.focus();
    return true;
  }
  return false;
}

/**
 * Makes every other child of `<body>` inert (unfocusable, hidden from
 * assistive technology) while `keep` is open; returns what undoes it, leaving
 * alone what was inert before (a dialog over a dialog).
 */
export function inertOutside(keep: Element): () => void {
  const doc = keep.ownerDocument;
  let top: Element = keep;
  while (top.parentElement && top.parentElement !== doc.body) top = top.parentElement;
  const changed: Element[] = [];
  for (const child of Array.from(doc.body.children)) {
    if (child === top || child.hasAttribute('inert') || child.tagName === 'SCRIPT') continue;
    child.setAttribute('inert', '');
    changed.push(child);
  }
  return () => {
    for (const el of changed) el.removeAttribute('inert');
  };
}

/** Moves `node` to the end of `<body>` while it exists (a Svelte action): dialogs and toasts sit above everything. */
export function portal(node: HTMLElement): { destroy(): void } {
  node.ownerDocument.body.appendChild(node);
  return {
    destroy() {
      node.remove();
    },
  };
}
