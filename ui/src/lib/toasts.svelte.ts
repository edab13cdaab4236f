/**
 * Short notices at the bottom of the window, with at most one action
 * ("Undo" after a delete). A notice with an action stays while the pointer or
 * the focus is on it, so there is time to reach the button.
 */

export interface ToastAction {
  label: string;
  run: () => void | Promise<void>;
}

export type ToastTone = 'info' | 'success' | 'error';

export interface ToastOptions {
  message: string;
  tone?: ToastTone;
  action?: ToastAction;
  /** How long it stays, in ms; `null` until dismissed. Default: 5 s, 10 s with an action, until dismissed for errors. */
  timeoutMs?: number | null;
}

export interface Toast {
  id: number;
  message: string;
  tone: ToastTone;
  action: ToastAction | undefined;
}

interface Timer {
  handle: ReturnType<typeof setTimeout> | null;
  remaining: number;
  startedAt: number;
}

export class ToastQueue {
  items: Toast[] = $state([]);
  #next = 1;
  // Bookkeeping only, never rendered: a plain Map on purpose.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #timers = new Map<number, Timer>();

  /** Shows a notice; returns its id. */
  show(options: ToastOptions): number {
    const id = this.#next++;
    const tone = options.tone ?? 'info';
    this.items.push({ id, message: options.message, tone, action: options.action });
    const timeout =
      options.timeoutMs !== undefined ? options.timeoutMs : tone === 'error' ? null : options.action ? 10_000 : 5_000;
    if (timeout !== null) {
      this.#timers.set(id, { handle: null, remaining: timeout, startedAt: 0 });
      this.resume(id);
    }
    return id;
  }

  dismiss(id: number): void {
    const timer = this.#timers.get(id);
    if (timer?.handle) clearTimeout(timer.handle);
    this.#timers.delete(id);
    const at = this.items.findIndex((t) => t.id === id);
    if (at >= 0) this.items.splice(at, 1);
  }

  /** Runs a notice's action and removes the notice; a failed action becomes an error notice. */
  async act(id: number): Promise<void> {
    const toast = this.items.find((t) => t.id === id);
    if (!toast?.action) return;
    const { run, label } = toast.action;
    this.dismiss(id);
    try {
      await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.show({ message: `${label} failed: ${message}`, tone: 'error' });
    }
  }

  /** Runs the action of the newest notice that has one (Ctrl+Z outside text fields); whether there was one. */
  async actLatest(): Promise<boolean> {
    const latest = this.items.findLast((t) => t.action !== undefined);
    if (!latest) return false;
    await this.act(latest.id);
    return true;
  }

  /** Holds the countdown (pointer or focus on the notice). */
  pause(id: number): void {
    const timer = this.#timers.get(id);
    if (!timer?.handle) return;
    clearTimeout(timer.handle);
    timer.handle = null;
    timer.remaining -= Date.now() - timer.startedAt;
  }

  /** Continues the countdown. */
  resume(id: number): void {
    const timer = this.#timers.get(id);
    if (!timer || timer.handle) return;
    timer.startedAt = Date.now();
    timer.handle = setTimeout(() => this.dismiss(id), Math.max(0, timer.remaining));
  }

  clear(): void {
    for (const t of this.items.slice()) this.dismiss(t.id);
  }
}

/** The app's notices. */
export const toasts = new ToastQueue();
