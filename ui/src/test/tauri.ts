/**
 * A stand-in for what Tauri injects into its webview (`__TAURI_INTERNALS__`),
 * enough for `Channel`, `invoke` and event listening in unit tests.
 */
import { vi } from 'vitest';

type Callback = (payload: unknown) => void;

export interface FakeInternals {
  callbacks: Map<number, Callback>;
  invoke: ReturnType<typeof vi.fn>;
  transformCallback: (callback: Callback, once?: boolean) => number;
  unregisterCallback: (id: number) => void;
  convertFileSrc: (path: string) => string;
  metadata: { currentWindow: { label: string }; currentWebview: { windowLabel: string; label: string } };
}

/** Pretends the page runs inside Tauri; `invoke` resolves to undefined unless told otherwise. */
export function enterTauri(): FakeInternals {
  let next = 1;
  const callbacks = new Map<number, Callback>();
  const internals: FakeInternals = {
    callbacks,
    invoke: vi.fn(async () => undefined),
    transformCallback(callback, once = false) {
      const id = next++;
      callbacks.set(id, (payload) => {
        if (once) callbacks.delete(id);
        callback(payload);
      });
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    convertFileSrc: (path) => `asset://localhost/${encodeURIComponent(path)}`,
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
  };
  const scope = globalThis as { __TAURI_INTERNALS__?: unknown; __TAURI_EVENT_PLUGIN_INTERNALS__?: unknown };
  scope.__TAURI_INTERNALS__ = internals;
  scope.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: vi.fn() };
  return internals;
}

/** Back to a plain browser. */
export function leaveTauri(): void {
  const scope = globalThis as { __TAURI_INTERNALS__?: unknown; __TAURI_EVENT_PLUGIN_INTERNALS__?: unknown };
  delete scope.__TAURI_INTERNALS__;
  delete scope.__TAURI_EVENT_PLUGIN_INTERNALS__;
}
