import '@testing-library/jest-dom/vitest';
import { afterEach } from 'vitest';
import { leaveTauri } from './tauri';

// jsdom has no layout: give the few browser APIs the components touch a
// harmless default so tests exercise our code, not jsdom's gaps.
if (!Element.prototype.scrollIntoView) {
  Element.prototype.scrollIntoView = function scrollIntoView() {};
}
if (!('ResizeObserver' in globalThis)) {
  class ResizeObserverStub {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  (globalThis as { ResizeObserver?: unknown }).ResizeObserver = ResizeObserverStub;
}
// jsdom logs "not implemented" for canvas; the components draw only when a 2D context exists.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

afterEach(() => {
  leaveTauri();
  window.location.hash = '';
  document.body.removeAttribute('inert');
});
