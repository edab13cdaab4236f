/**
 * What the Models, Settings and Marketplace screens share about running
 * commands: ids for cancellable requests, and calling the few commands whose
 * bindings resolve to a plain value (`modelCatalog`, `dataFolder`,
 * `cancelJob`) the same way as the others, through {@link call}.
 */
import { call, toAppError, type IpcResult, type Outcome } from '../../lib/ipc';

/** A fresh id for a request the core can cancel (`cancelJob`) or answer (`answerPlan`). */
export function requestId(prefix = 'req'): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Runs a command whose binding resolves to the value itself (no `Result`):
 * outside Tauri it is not run (`core_unavailable`); a rejection becomes an
 * `AppError`, as with {@link call}.
 */
export function callPlain<T>(command: () => Promise<T>): Promise<T> {
  return call(async (): Promise<IpcResult<T>> => ({ status: 'ok', data: await command() }));
}

/** {@link callPlain}, with the error as a value instead of thrown. */
export async function attemptPlain<T>(command: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await callPlain(command) };
  } catch (error) {
    return { ok: false, error: toAppError(error) };
  }
}
