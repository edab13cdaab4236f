/** Keyboard movement in lists (list boxes, the command palette's results). */

/**
 * The index after a navigation key, in a list of `count` items; `null` when
 * the key does not move (the caller lets it through). From no selection
 * (`-1`), Down goes to the first item and Up to the last.
 */
export function moveIndex(current: number, key: string, count: number, page = 10): number | null {
  if (count <= 0) return null;
  const last = count - 1;
  switch (key) {
    case 'ArrowDown':
      return current < 0 ? 0 : Math.min(last, current + 1);
    case 'ArrowUp':
      return current < 0 ? last : Math.max(0, current - 1);
    case 'Home':
      return 0;
    case 'End':
      return last;
    case 'PageDown':
      return current < 0 ? Math.min(last, page - 1) : Math.min(last, current + page);
    case 'PageUp':
      return current < 0 ? 0 : Math.max(0, current - page);
    default:
      return null;
  }
}

/**
 * Type-ahead: the first item after `from` (wrapping) whose text starts with
 * `query`, case-insensitively; `from` itself is tried last, so typing the same
 * letter again cycles through the items that start with it.
 */
export function typeahead(texts: readonly string[], from: number, query: string): number | null {
  const q = query.toLocaleLowerCase();
  if (q === '' || texts.length === 0) return null;
  const n = texts.length;
  // Repeating one letter ("aaa") cycles through items starting with it.
  const cycling = q.length > 1 && Array.from(q).every((c) => c === q[0]);
  const needle = cycling ? (q[0] as string) : q;
  const start = cycling || q.length === 1 ? from + 1 : from;
  for (let i = 0; i < n; i++) {
    const at = (((start + i) % n) + n) % n;
    if ((texts[at] ?? '').toLocaleLowerCase().startsWith(needle)) return at;
  }
  return null;
}

/**
 * Items matching a search: every word of `query` appears in the item's text
 * (case- and accent-insensitive); items whose text starts with the query come first.
 */
export function filterByWords<T>(items: readonly T[], query: string, text: (item: T) => string): T[] {
  const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase();
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return items.slice();
  const q = fold(query).trim();
  const hits = items
    .map((item, index) => ({ item, index, t: fold(text(item)) }))
    .filter(({ t }) => words.every((w) => t.includes(w)));
  hits.sort((a, b) => Number(b.t.startsWith(q)) - Number(a.t.startsWith(q)) || a.index - b.index);
  return hits.map((h) => h.item);
}
