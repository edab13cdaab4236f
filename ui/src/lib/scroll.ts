/**
 * Keeps a scrolling container at its bottom while content streams in, as long
 * as the user has not scrolled up to read; scrolling back down re-attaches.
 */

export interface StickOptions {
  /** How close to the bottom (px) still counts as "at the bottom". */
  threshold?: number;
  /** Told whenever the container attaches to or leaves the bottom. */
  onchange?: (atBottom: boolean) => void;
}

/** A Svelte action: `<div use:stickToBottom={{ onchange }}>`. */
export function stickToBottom(node: HTMLElement, options: StickOptions = {}) {
  let threshold = options.threshold ?? 24;
  let onchange = options.onchange;
  let atBottom = true;

  const distance = () => node.scrollHeight - node.scrollTop - node.clientHeight;
  const onscroll = () => {
    const now = distance() <= threshold;
    if (now !== atBottom) {
      atBottom = now;
      onchange?.(now);
    }
  };
  const follow = () => {
    if (atBottom) node.scrollTop = node.scrollHeight;
  };
  const observer = new MutationObserver(follow);
  observer.observe(node, { childList: true, subtree: true, characterData: true });
  node.addEventListener('scroll', onscroll, { passive: true });
  follow();

  return {
    update(next: StickOptions = {}) {
      threshold = next.threshold ?? 24;
      onchange = next.onchange;
    },
    destroy() {
      observer.disconnect();
      node.removeEventListener('scroll', onscroll);
    },
  };
}

/** Scrolls to the bottom (the "Jump to latest" button); the container re-attaches. */
export function scrollToBottom(node: HTMLElement): void {
  node.scrollTop = node.scrollHeight;
  node.dispatchEvent(new Event('scroll'));
}
