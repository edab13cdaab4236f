/** Models as the Models screen sorts and names them: their kind, where they came from, and which catalog entries are installed. */
import type { Catalog, InstalledModel, PullTarget } from '../../bindings';

/** What a model is for. */
export type ModelKind = 'chat' | 'embedding' | 'speech' | 'voice' | 'voice_clone';

export const KIND_LABELS: Record<ModelKind, string> = {
  chat: 'Chat',
  embedding: 'Embedding (knowledge bases)',
  speech: 'Speech to text',
  voice: 'Voice',
  voice_clone: 'Voice cloning',
};

/** The architectures of sentence-embedding models (`familiar::models::EMBEDDING_ARCHS`). */
const EMBEDDING_ARCHS = ['bert', 'nomic_bert'];

/** The catalog's tabs, one per kind. */
export const KIND_TABS: Record<ModelKind, string> = {
  chat: 'Chat',
  embedding: 'Embedding',
  speech: 'Speech to text',
  voice: 'Voice',
  voice_clone: 'Voice cloning',
};

/** An installed model's kind, from its architecture (as the core decides it). */
export function modelKind(model: Pick<InstalledModel, 'arch'>): ModelKind {
  if (EMBEDDING_ARCHS.includes(model.arch)) return 'embedding';
  if (model.arch === 'whisper') return 'speech';
  if (model.arch === 'piper' || model.arch === 'ge2e') return 'voice';
  if (model.arch === 'metavoice') return 'voice_clone';
  return 'chat';
}

/** The id the core gives a model file (`familiar::models::model_id`): `SmolLM2-135M.Q4_1.gguf` → `smollm2-135m-q4_1`. */
export function modelId(fileName: string): string {
  const stem = fileName.endsWith('.gguf') ? fileName.slice(0, -'.gguf'.length) : fileName;
  return Array.from(stem, (c) => (/^[A-Za-z0-9_-]$/.test(c) ? c.toLowerCase() : '-')).join('');
}

/** Where a model came from, in words: `Hugging Face · Qwen/Qwen3-0.6B-GGUF`. */
export function describeSource(source: string): string {
  const parts = source.split(/\s+/).filter(Boolean);
  if (parts.length > 0 && parts.every((p) => p.startsWith('hf:'))) {
    const repos = parts.map((p) => p.slice(3).replace(/@[^/]*/, '').split('/').slice(0, 2).join('/'));
    return `Hugging Face · ${Array.from(new Set(repos)).join(', ')}`;
  }
  if (source.startsWith('import:')) return `Imported from ${source.slice('import:'.length)}`;
  if (source.startsWith('pypi:')) return `Bundled with Familiar (${source.slice('pypi:'.length)})`;
  if (source.startsWith('pypi-download:')) return `PyPI · ${source.slice('pypi-download:'.length)}`;
  return source;
}

/** A download's key: one per catalog entry. */
export function targetKey(target: PullTarget): string {
  switch (target.kind) {
    case 'chat':
      return `chat:${target.repo}/${target.file}`;
    case 'embedding':
      return `embedding:${target.repo}`;
    case 'speech':
      return `speech:${target.id}`;
    case 'voice':
      return 'voice';
    case 'speaker_model':
      return 'speaker_model';
    case 'voice_clone':
      return 'voice_clone';
  }
}

/** The installed model a catalog entry became, if any. */
export function installedFor(target: PullTarget, installed: readonly InstalledModel[], catalog?: Catalog): InstalledModel | undefined {
  switch (target.kind) {
    case 'chat': {
      const id = modelId(target.file);
      return installed.find(
        (m) => m.id === id || (m.source.startsWith(`hf:${target.repo}@`) && m.source.endsWith(`/${target.file}`)),
      );
    }
    case 'embedding': {
      const id = modelId(target.repo.split('/').pop() ?? target.repo);
      return installed.find((m) => m.id === id);
    }
    case 'speech':
      return installed.find((m) => m.id === target.id);
    case 'voice':
      return installed.find((m) => m.arch === 'piper' || (catalog !== undefined && m.id === catalog.voice.id));
    case 'speaker_model':
      return installed.find((m) => m.arch === 'ge2e' || (catalog !== undefined && m.id === catalog.speaker.id));
    case 'voice_clone':
      return installed.find((m) => modelKind(m) === 'voice_clone' || (catalog !== undefined && m.id === catalog.voice_clone.id));
  }
}

/** `105 MB`, `4.9 GB` of the catalog's megabytes. */
export function formatMegabytes(mb: number): string {
  if (!Number.isFinite(mb) || mb < 0) return '—';
  return mb >= 1000 ? `${Number((mb / 1000).toFixed(1))} GB` : `${mb} MB`;
}
