/**
 * Model downloads, app-wide: a download goes on while the user is on another
 * screen, and its progress is still there when they come back. Each has the
 * request id that cancels it (`cancelJob`); a stopped download resumes where
 * it stopped when pulled again.
 */
import { commands, type InstalledModel, type Progress, type PullTarget } from '../../bindings';
import { attempt, channel, toAppError, type AppError } from '../../lib/ipc';
import { formatTransfer } from '../../lib/format';
import { toasts } from '../../lib/toasts.svelte';
import { callPlain, requestId } from './jobs';
import { targetKey } from './catalog';

export interface Download {
  key: string;
  /** What is downloaded, for people: `Qwen3 0.6B`. */
  label: string;
  target: PullTarget;
  requestId: string;
  status: 'running' | 'done' | 'failed';
  /** A cancel was asked for and has not ended the download yet. */
  cancelling: boolean;
  done: number;
  total: number | null;
  /** Bytes per second, once measurable. */
  rate: number | null;
  error: AppError | null;
  model: InstalledModel | null;
}

/** Whether a failed download stopped part-way (cancelled or cut off): pulling again resumes it. */
export function resumable(download: Pick<Download, 'error'>): boolean {
  return download.error?.code === 'download_interrupted' || download.error?.code === 'cancelled';
}

/** The text next to a download's progress bar. */
export function progressText(download: Pick<Download, 'done' | 'total' | 'rate'>): string | undefined {
  if (download.done === 0 && !download.total) return undefined;
  return formatTransfer(download.done, download.total, download.rate);
}

export class Downloads {
  items: Record<string, Download> = $state({});
  readonly #now: () => number;
  /** Where the rate is measured from: resets when a new file of a multi-file model starts. */
  // Bookkeeping only, never rendered: a plain Map on purpose.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #origin = new Map<string, { at: number; done: number }>();

  constructor(now: () => number = () => Date.now()) {
    this.#now = now;
  }

  get(target: PullTarget): Download | undefined {
    return this.items[targetKey(target)];
  }

  /** Pulls a model; resolves when it ended (installed, stopped or failed: see `items`). */
  async start(target: PullTarget, label: string, onInstalled?: (model: InstalledModel) => void): Promise<void> {
    const key = targetKey(target);
    if (this.items[key]?.status === 'running') return;
    const id = requestId('pull');
    this.items[key] = {
      key,
      label,
      target,
      requestId: id,
      status: 'running',
      cancelling: false,
      done: 0,
      total: null,
      rate: null,
      error: null,
      model: null,
    };
    this.#origin.set(key, { at: this.#now(), done: 0 });
    let progress;
    try {
      progress = channel<Progress>((p) => this.#progress(key, id, p));
    } catch (error) {
      this.#fail(key, id, toAppError(error));
      return;
    }
    const pulled = await attempt(() => commands.pullModel(target, id, progress));
    const item = this.items[key];
    if (!item || item.requestId !== id) return;
    if (pulled.ok) {
      item.status = 'done';
      item.cancelling = false;
      item.model = pulled.value;
      onInstalled?.(pulled.value);
    } else {
      this.#fail(key, id, pulled.error);
    }
  }

  /** Asks the core to stop a download; it ends as `download_interrupted`, and resumes when pulled again. */
  async cancel(target: PullTarget): Promise<void> {
    const item = this.get(target);
    if (!item || item.status !== 'running' || item.cancelling) return;
    item.cancelling = true;
    try {
      const stopped = await callPlain(() => commands.cancelJob(item.requestId));
      // False: it had already ended, and its result says how.
      if (!stopped && item.status === 'running') item.cancelling = false;
    } catch (error) {
      item.cancelling = false;
      toasts.show({ message: `${item.label} could not be stopped: ${toAppError(error).message}`, tone: 'error' });
    }
  }

  /** Forgets a finished or failed download. */
  dismiss(target: PullTarget): void {
    const key = targetKey(target);
    if (!(key in this.items) || this.items[key]?.status === 'running') return;
    this.items = Object.fromEntries(Object.entries(this.items).filter(([k]) => k !== key));
  }

  #progress(key: string, id: string, p: Progress) {
    const item = this.items[key];
    if (!item || item.requestId !== id || item.status !== 'running') return;
    const now = this.#now();
    let origin = this.#origin.get(key) ?? { at: now, done: 0 };
    if (p.done < item.done) {
      origin = { at: now, done: p.done };
      this.#origin.set(key, origin);
    }
    const seconds = (now - origin.at) / 1000;
    item.rate = seconds >= 1 && p.done > origin.done ? (p.done - origin.done) / seconds : item.rate;
    item.done = p.done;
    item.total = p.total;
  }

  #fail(key: string, id: string, error: AppError) {
    const item = this.items[key];
    if (!item || item.requestId !== id) return;
    item.status = 'failed';
    item.cancelling = false;
    item.error = error;
  }
}

/** The app's downloads. */
export const downloads = new Downloads();
