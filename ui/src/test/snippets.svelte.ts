/** Snippets for tests, from plain HTML (what a parent component would pass as children). */
import { createRawSnippet, type Snippet } from 'svelte';

/** A snippet without arguments rendering `html` (one root element). */
export function html(markup: string): Snippet {
  return createRawSnippet(() => ({ render: () => markup }));
}

/**
 * A snippet with one argument: a `<div>` whose content is `render(arg)`,
 * kept up to date when the argument changes (as a `{#snippet}` would be).
 */
export function html1<T>(render: (arg: T) => string): Snippet<[T]> {
  return createRawSnippet((arg: () => T) => ({
    render: () => '<div></div>',
    setup(node: Element) {
      $effect(() => {
        node.innerHTML = render(arg());
      });
    },
  }));
}
