/** The Library without UI: search, the import and export formats, file names, dates. */
import type { AgentCard, ExportKind } from '../../bindings';
import type { FileFilter } from '../../lib/pick';
import { filterByWords } from '../../lib/selection';

/** What the file dialog offers for an import (a Modelfile has no extension, hence "All files"). */
export const IMPORT_FILTERS: FileFilter[] = [
  { name: 'Character cards (PNG, CHARX, JSON)', extensions: ['png', 'charx', 'json'] },
  { name: 'All files', extensions: ['*'] },
];

export interface ExportFormat {
  value: ExportKind;
  label: string;
  /** What it is for, in a line. */
  hint: string;
  /** The file name's ending, after the agent's name. */
  suffix: string;
  filter: FileFilter;
}

/** The export formats, the most portable first. */
export const EXPORT_FORMATS: readonly ExportFormat[] = [
  {
    value: 'ccv3-png',
    label: 'Character card PNG (V3, with a V2 fallback)',
    hint: 'The avatar with the card inside: opens in most character apps.',
    suffix: '.png',
    filter: { name: 'PNG image', extensions: ['png'] },
  },
  {
    value: 'charx',
    label: 'CHARX (V3 zip with assets)',
    hint: 'The card and every asset (avatar, voice) in one file.',
    suffix: '.charx',
    filter: { name: 'CHARX', extensions: ['charx'] },
  },
  {
    value: 'ccv3-json',
    label: 'Character Card V3 JSON',
    hint: 'The card as JSON, assets inlined.',
    suffix: '.json',
    filter: { name: 'JSON', extensions: ['json'] },
  },
  {
    value: 'ccv2-json',
    label: 'Character Card V2 JSON',
    hint: 'For apps that only read V2 (V1 fields mirrored too).',
    suffix: '.v2.json',
    filter: { name: 'JSON', extensions: ['json'] },
  },
  {
    value: 'eliza-json',
    label: 'elizaOS character',
    hint: 'For elizaOS agents.',
    suffix: '.character.json',
    filter: { name: 'JSON', extensions: ['json'] },
  },
];

export function exportFormat(kind: ExportKind): ExportFormat {
  return EXPORT_FORMATS.find((f) => f.value === kind) ?? (EXPORT_FORMATS[0] as ExportFormat);
}

/** A file name for an agent's export: its name without characters file systems refuse, and the format's ending. */
export function exportFileName(name: string, kind: ExportKind): string {
  // Control characters and the ones Windows, macOS or Linux refuse in a name.
  // eslint-disable-next-line no-control-regex
  const base = name.replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, ' ').replace(/\s+/g, ' ').trim().replace(/^\.+/, '');
  return `${base || 'agent'}${exportFormat(kind).suffix}`;
}

/** The agents matching a search of their name, tags and summary (every word must appear). */
export function searchAgents(cards: readonly AgentCard[], query: string): AgentCard[] {
  return filterByWords(cards, query, (c) => [c.name, c.tags.join(' '), c.summary].join(' '));
}

/** The last part of a path, for messages (`/home/me/lena.png` → `lena.png`). */
export function fileName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** A date for people, from Unix seconds: `12 Mar 2025, 14:05`. */
export function formatWhen(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  return new Date(seconds * 1000).toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** Where an agent came from, in words (`sample:lena` → `Sample`, `token:…` → `From the marketplace`). */
export function originLabel(origin: string | null): string | null {
  if (!origin) return null;
  if (origin.startsWith('sample')) return 'Sample';
  if (origin.startsWith('token')) return 'From the marketplace';
  if (origin === 'package') return 'From a package';
  if (origin === 'import') return 'Imported';
  return null;
}
