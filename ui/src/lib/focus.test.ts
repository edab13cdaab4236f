import { afterEach, describe, expect, it } from 'vitest';
import { focusableWithin, inertOutside, portal, trapTab } from './focus';

afterEach(() => {
  document.body.innerHTML = '';
});

function tab(shift = false) {
  return new KeyboardEvent('keydown', { key: 'Tab', shiftKey: shift, cancelable: true });
}

describe('focusableWithin', () => {
  it('finds what Tab reaches, in order', () => {
    document.body.innerHTML = `
      <div id="root">
        <button id="a">a</button>
        <button disabled>x</button>
        <input type="hidden">
        <a href="#/x" id="b">b</a>
        <div tabindex="-1">no</div>
        <div hidden><button>hidden</button></div>
        <div inert><button>inert</button></div>
        <textarea id="c"></textarea>
        <span tabindex="0" id="d">d</span>
      </div>`;
    const ids = focusableWithin(document.getElementById('root') as HTMLElement).map((el) => el.id);
    expect(ids).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('trapTab', () => {
  it('wraps from last to first and back', () => {
    document.body.innerHTML = `<div id="root" tabindex="-1"><button id="a">a</button><button id="b">b</button></div>`;
    const root = document.getElementById('root') as HTMLElement;
    const a = document.getElementById('a') as HTMLElement;
    const b = document.getElementById('b') as HTMLElement;
    b.focus();
    const forward = tab();
    expect(trapTab(forward, root)).toBe(true);
    expect(forward.defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(a);
    expect(trapTab(tab(true), root)).toBe(true);
    expect(document.activeElement).toBe(b);
    a.focus();
    const middle = tab();
    expect(trapTab(middle, root)).toBe(false);
    expect(middle.defaultPrevented).toBe(false);
  });

  it('brings focus back in from outside, and holds it on an empty dialog', () => {
    document.body.innerHTML = `<button id="out">out</button><div id="root" tabindex="-1"><button id="a">a</button></div><div id="empty" tabindex="-1"></div>`;
    (document.getElementById('out') as HTMLElement).focus();
    trapTab(tab(), document.getElementById('root') as HTMLElement);
    expect(document.activeElement?.id).toBe('a');
    const empty = document.getElementById('empty') as HTMLElement;
    expect(trapTab(tab(), empty)).toBe(true);
    expect(document.activeElement).toBe(empty);
    expect(trapTab(new KeyboardEvent('keydown', { key: 'a' }), empty)).toBe(false);
  });
});

describe('inertOutside / portal', () => {
  it('makes the rest of the page inert and undoes only its own change', () => {
    document.body.innerHTML = `<div id="app"></div><div id="old" inert></div><div id="dialog"><p id="inside"></p></div>`;
    const restore = inertOutside(document.getElementById('inside') as HTMLElement);
    expect(document.getElementById('app')?.hasAttribute('inert')).toBe(true);
    expect(document.getElementById('dialog')?.hasAttribute('inert')).toBe(false);
    restore();
    expect(document.getElementById('app')?.hasAttribute('inert')).toBe(false);
    expect(document.getElementById('old')?.hasAttribute('inert')).toBe(true);
  });

  it('moves a node to the end of body and removes it', () => {
    document.body.innerHTML = `<main><div id="p"></div></main><footer></footer>`;
    const node = document.getElementById('p') as HTMLElement;
    const action = portal(node);
    expect(document.body.lastElementChild).toBe(node);
    action.destroy();
    expect(document.getElementById('p')).toBeNull();
  });
});
