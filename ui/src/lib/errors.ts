/**
 * What to tell the user for each error code: a title, what happened in plain
 * words, and the one thing to do next. The core's own message (lowercase,
 * saying what was being attempted) is shown under it as the details.
 *
 * Screens branch on {@link AppError.code}; this table is where the words live.
 */
import type { AppError, AppErrorCode } from './ipc';
import type { Route } from './routes';

/** The action an error state offers. */
export type GuidanceAction =
  /** Go to the screen where the problem is fixed. */
  | { kind: 'route'; label: string; route: Route }
  /** Try the same thing again (the screen supplies how). */
  | { kind: 'retry'; label: string };

export interface Guidance {
  title: string;
  /** What happened and what to do, in a sentence or two. */
  body: string;
  action?: GuidanceAction;
  /** Whether the message from the core should be shown (it says what went wrong exactly). */
  showMessage: boolean;
  /** The user asked for it (a cancel): worth a quiet note, not an error state. */
  quiet: boolean;
}

type Entry = Omit<Guidance, 'showMessage' | 'quiet'> & { showMessage?: boolean; quiet?: boolean };

const GUIDANCE: Record<AppErrorCode, Entry> = {
  invalid_input: {
    title: 'That could not be used',
    body: 'Something in the file or the request is not valid. The details say what; fix it and try again.',
  },
  not_found: {
    title: 'Not found',
    body: 'It may have been deleted, renamed or moved to the trash.',
    action: { kind: 'route', label: 'Open the Library', route: { name: 'library' } },
  },
  ambiguous: {
    title: 'More than one match',
    body: 'The name fits several agents. Choose one from the Library.',
    action: { kind: 'route', label: 'Open the Library', route: { name: 'library' } },
  },
  verification_failed: {
    title: 'Verification failed',
    body: 'The package or token did not check out, so nothing was imported. Ask its creator for another copy, or try another gateway.',
  },
  storage: {
    title: 'Your data could not be read or written',
    body: 'Check that the data folder exists, is writable and has free space. Settings shows where it is.',
    action: { kind: 'route', label: 'Open Settings', route: { name: 'settings' } },
  },
  no_model: {
    title: 'No model yet',
    body: 'Agents need a model to speak. Download one from the catalog, or import a GGUF file, in Models.',
    action: { kind: 'route', label: 'Open Models', route: { name: 'models' } },
  },
  model_failed: {
    title: 'The model could not run',
    body: 'Its file may be damaged, or there may not be enough memory. Try a smaller model, or download this one again.',
    action: { kind: 'route', label: 'Open Models', route: { name: 'models' } },
  },
  download_interrupted: {
    title: 'The download stopped',
    body: 'Nothing is lost: starting it again resumes where it stopped.',
    action: { kind: 'retry', label: 'Resume the download' },
  },
  cancelled: {
    title: 'Cancelled',
    body: 'Nothing else was changed. Doing the same again finishes the job.',
    quiet: true,
  },
  wrong_passphrase: {
    title: 'Wrong passphrase',
    body: "That is not this wallet's passphrase. Type it again; it is case-sensitive.",
    action: { kind: 'retry', label: 'Try again' },
    showMessage: false,
  },
  no_wallet: {
    title: 'No wallet yet',
    body: 'Create a wallet, or import one from a key or recovery phrase, in Wallet & network.',
    action: { kind: 'route', label: 'Open Wallet & network', route: { name: 'wallet' } },
  },
  chain_unavailable: {
    title: 'No chain',
    body: 'The chain cannot be reached. Start the local chain, or check the network address, in Wallet & network.',
    action: { kind: 'route', label: 'Open Wallet & network', route: { name: 'wallet' } },
  },
  rejected: {
    title: 'The chain refused the transaction',
    body: 'Nothing was spent. The details say why.',
  },
  consent_refused: {
    title: 'Consent not accepted',
    body: 'The read-out did not match the sentence or the recorded voice. Read the sentence again, clearly, in the same voice.',
    action: { kind: 'retry', label: 'Record again' },
  },
  no_device: {
    title: 'No microphone or speaker',
    body: 'Voice needs a microphone and a speaker. Connect one and choose it in Settings; text chat works without.',
    action: { kind: 'route', label: 'Open Settings', route: { name: 'settings' } },
  },
  core_unavailable: {
    title: "The studio's core is not running",
    body: "This is Familiar's interface on its own, without the studio behind it, so there are no agents, models or wallet to show. Open the Familiar desktop app to use them; the familiar command line works too.",
    showMessage: false,
  },
  ipc: {
    title: 'The app and its core did not understand each other',
    body: 'This is a bug in Familiar, not something you did. Restart the app; if it happens again, report it with the details below.',
  },
};

/** The words and the next step for an error. */
export function describeError(error: Pick<AppError, 'code'>): Guidance {
  const entry = GUIDANCE[error.code];
  return { showMessage: true, quiet: false, ...entry };
}

/**
 * The details line under an error state: the core's message, and its details
 * in words if any. Structured details (`AppError.data`: a refused recording's
 * checks, a refused consent's result) are never flattened into this line: the
 * screen that knows their shape shows them.
 */
export function errorDetails(error: Pick<AppError, 'code' | 'message' | 'details'>): string | undefined {
  if (!describeError(error).showMessage) return undefined;
  const parts = [error.message, error.details].filter((p): p is string => Boolean(p && p.trim()));
  return parts.length > 0 ? parts.join(' — ') : undefined;
}
