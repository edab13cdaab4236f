import { describe, expect, it } from 'vitest';
import { filterByWords, moveIndex, typeahead } from './selection';

describe('moveIndex', () => {
  it('moves within bounds', () => {
    expect(moveIndex(0, 'ArrowDown', 3)).toBe(1);
    expect(moveIndex(2, 'ArrowDown', 3)).toBe(2);
    expect(moveIndex(0, 'ArrowUp', 3)).toBe(0);
    expect(moveIndex(1, 'Home', 3)).toBe(0);
    expect(moveIndex(1, 'End', 3)).toBe(2);
    expect(moveIndex(0, 'PageDown', 30)).toBe(10);
    expect(moveIndex(25, 'PageDown', 30)).toBe(29);
    expect(moveIndex(5, 'PageUp', 30)).toBe(0);
  });

  it('enters the list from no selection', () => {
    expect(moveIndex(-1, 'ArrowDown', 3)).toBe(0);
    expect(moveIndex(-1, 'ArrowUp', 3)).toBe(2);
    expect(moveIndex(-1, 'PageDown', 3)).toBe(2);
    expect(moveIndex(-1, 'PageUp', 3)).toBe(0);
  });

  it('lets other keys through, and empty lists', () => {
    expect(moveIndex(0, 'a', 3)).toBeNull();
    expect(moveIndex(0, 'Enter', 3)).toBeNull();
    expect(moveIndex(-1, 'ArrowDown', 0)).toBeNull();
  });
});

describe('typeahead', () => {
  const names = ['Ada', 'Captain Byte', 'Lena', 'Leo', 'lorem'];

  it('finds by prefix, after the current item', () => {
    expect(typeahead(names, 0, 'c')).toBe(1);
    expect(typeahead(names, 0, 'le')).toBe(2);
    expect(typeahead(names, 2, 'leo')).toBe(3);
    expect(typeahead(names, 0, 'z')).toBeNull();
    expect(typeahead([], 0, 'a')).toBeNull();
    expect(typeahead(names, 0, '')).toBeNull();
  });

  it('cycles through items with the same first letter', () => {
    expect(typeahead(names, 2, 'l')).toBe(3);
    expect(typeahead(names, 3, 'll')).toBe(4);
    expect(typeahead(names, 4, 'lll')).toBe(2);
  });
});

describe('filterByWords', () => {
  const items = ['Wallet & network', 'Models', 'Go to Marketplace', 'Marketplace', 'Café'];

  it('needs every word, ignoring case and accents, prefixes first', () => {
    expect(filterByWords(items, 'market', (s) => s)).toEqual(['Marketplace', 'Go to Marketplace']);
    expect(filterByWords(items, 'net wal', (s) => s)).toEqual(['Wallet & network']);
    expect(filterByWords(items, 'cafe', (s) => s)).toEqual(['Café']);
    expect(filterByWords(items, '  ', (s) => s)).toEqual(items);
    expect(filterByWords(items, 'zzz', (s) => s)).toEqual([]);
  });
});
