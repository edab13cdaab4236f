/**
 * The first-run setup (`setupStudio`): the sample agents, the bundled models
 * from the machine's model cache, and the sample knowledge base, whose
 * indexing streams its progress. App-wide, so leaving the screen does not
 * lose it; running it again installs only what is missing.
 */
import { commands, type IngestProgress, type SetupReport } from '../../bindings';
import { attempt, channel, toAppError, type AppError } from '../../lib/ipc';

export class StudioSetupRun {
  status = $state<'idle' | 'running' | 'done' | 'failed'>('idle');
  /** The knowledge base's indexing, once it started. */
  progress = $state<IngestProgress | null>(null);
  report = $state<SetupReport | null>(null);
  error = $state<AppError | null>(null);

  /** Runs the setup (once at a time); resolves with its report, or null when it failed. */
  async run(): Promise<SetupReport | null> {
    if (this.status === 'running') return null;
    this.status = 'running';
    this.progress = null;
    this.report = null;
    this.error = null;
    let progress;
    try {
      progress = channel<IngestProgress>((p) => {
        if (this.status === 'running') this.progress = p;
      });
    } catch (error) {
      this.error = toAppError(error);
      this.status = 'failed';
      return null;
    }
    const done = await attempt(() => commands.setupStudio(progress));
    if (!done.ok) {
      this.error = done.error;
      this.status = 'failed';
      return null;
    }
    this.report = done.value;
    this.status = 'done';
    return done.value;
  }
}

/** Whether a setup installed anything. */
export function installedAnything(report: SetupReport): boolean {
  return report.agents.length > 0 || report.models.length > 0;
}

/** The app's setup. */
export const studioSetup = new StudioSetupRun();
