/**
 * The system's file dialogs (Tauri's dialog plugin): they give paths, which
 * is what the core takes. Each needs the shell's `dialog:allow-open` /
 * `dialog:allow-save` permission.
 */
import { open, save } from '@tauri-apps/plugin-dialog';
import { coreUnavailable, isTauri, toAppError } from './ipc';

export interface FileFilter {
  /** `Character cards`. */
  name: string;
  /** Without dots: `png`, `charx`, `json`. */
  extensions: string[];
}

export interface PickOptions {
  title?: string;
  /** Folders instead of files. */
  directory?: boolean;
  multiple?: boolean;
  filters?: FileFilter[];
}

/** Lets the user choose files or folders; none (`[]`) if the dialog was closed. */
export async function pickPaths(options: PickOptions = {}): Promise<string[]> {
  if (!isTauri()) throw coreUnavailable();
  let chosen: string | string[] | null;
  try {
    chosen = await open({
      title: options.title,
      directory: options.directory ?? false,
      multiple: options.multiple ?? false,
      filters: options.directory ? undefined : options.filters,
      recursive: options.directory ?? false,
    });
  } catch (error) {
    throw toAppError(error);
  }
  if (chosen === null) return [];
  return Array.isArray(chosen) ? chosen : [chosen];
}

/** Lets the user choose where to save; `null` if the dialog was closed. */
export async function pickSavePath(options: { title?: string; defaultPath?: string; filters?: FileFilter[] } = {}) {
  if (!isTauri()) throw coreUnavailable();
  try {
    return await save({ title: options.title, defaultPath: options.defaultPath, filters: options.filters });
  } catch (error) {
    throw toAppError(error);
  }
}
