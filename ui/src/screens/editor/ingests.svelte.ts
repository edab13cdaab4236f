/**
 * Documents being added to a knowledge base. The job runs in the core and
 * outlives the Knowledge tab (switching tabs unmounts it), so its progress,
 * report and failure live here, and the tab shows them again when it comes
 * back. One at a time.
 */
import { commands, type IngestProgress, type IngestReport } from '../../bindings';
import { attempt, channel, toAppError, type AppError } from '../../lib/ipc';
import { newRequestId } from './voice';

export interface RunningIngest {
  base: string;
  /** What `cancelJob` stops. */
  id: string;
  progress: IngestProgress | null;
  cancelling: boolean;
}

export class Ingests {
  running = $state<RunningIngest | null>(null);
  outcome = $state<{ base: string; report: IngestReport } | null>(null);
  failure = $state<{ base: string; error: AppError } | null>(null);
  /** Bumped when an ingest ends: what shows bases and documents reloads. */
  finished = $state(0);

  /** Adds files and folders to `base`; nothing while another ingest runs. */
  async add(base: string, paths: string[]): Promise<void> {
    if (this.running || paths.length === 0) return;
    this.outcome = null;
    this.failure = null;
    const id = newRequestId('ingest');
    let progress;
    try {
      progress = channel<IngestProgress>((p) => {
        if (this.running?.id === id) this.running.progress = p;
      });
    } catch (error) {
      this.failure = { base, error: toAppError(error) };
      return;
    }
    this.running = { base, id, progress: null, cancelling: false };
    const result = await attempt(() => commands.addDocuments(base, paths, id, progress));
    this.running = null;
    if (result.ok) this.outcome = { base, report: result.value };
    else this.failure = { base, error: result.error };
    this.finished += 1;
  }

  /** Stops the running ingest (documents already read stay). */
  async cancel(): Promise<void> {
    const running = this.running;
    if (!running || running.cancelling) return;
    running.cancelling = true;
    try {
      await commands.cancelJob(running.id);
    } catch {
      // It ends by itself.
    }
  }

  /** Forgets the last report or failure. */
  dismiss(): void {
    this.outcome = null;
    this.failure = null;
  }
}

/** The studio's ingests. */
export const ingests = new Ingests();
