import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import type { Channel } from '@tauri-apps/api/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, events, type Catalog, type InstalledModel, type Progress } from '../../bindings';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import { Downloads } from './downloads.svelte';
import ModelsScreen from './ModelsScreen.svelte';

vi.mock('../../bindings', () => ({
  commands: {
    listModels: vi.fn(),
    modelCatalog: vi.fn(),
    pullModel: vi.fn(),
    cancelJob: vi.fn(),
    importModel: vi.fn(),
    removeModel: vi.fn(),
    setupStudio: vi.fn(),
  },
  events: { modelsChanged: { listen: vi.fn() } },
}));

const cmd = vi.mocked(commands);
const modelsChanged = vi.mocked(events.modelsChanged.listen);

const ok = <T,>(data: T) => Promise.resolve({ status: 'ok' as const, data });
const err = (code: string, message: string) =>
  Promise.resolve({ status: 'error' as const, error: { code, message } as never });

const CATALOG: Catalog = {
  chat: [
    {
      entry: {
        name: 'SmolLM2 135M Instruct',
        repo: 'bartowski/SmolLM2-135M-Instruct-GGUF',
        file: 'SmolLM2-135M-Instruct-Q4_K_M.gguf',
        arch: 'llama',
        params: '135M',
        quantization: 'Q4_K_M',
        size_mb: 105,
        license: 'Apache-2.0',
        context: 8192,
      },
      fits: true,
    },
    {
      entry: {
        name: 'Gemma 3 4B Instruct',
        repo: 'ggml-org/gemma-3-4b-it-GGUF',
        file: 'gemma-3-4b-it-Q4_K_M.gguf',
        arch: 'gemma3',
        params: '4B',
        quantization: 'Q4_K_M',
        size_mb: 2490,
        license: 'Gemma',
        context: 131072,
      },
      fits: false,
    },
  ],
  embedding: [
    {
      name: 'all-MiniLM-L6-v2',
      repo: 'sentence-transformers/all-MiniLM-L6-v2',
      dim: 384,
      size_mb: 91,
      license: 'Apache-2.0',
      note: 'the bundled default; fast, English',
    },
  ],
  speech: [
    { id: 'whisper-base.en', file: 'ggml-base.en.bin', size_mb: 142, languages: 'English', license: 'MIT' },
    { id: 'whisper-base', file: 'ggml-base.bin', size_mb: 142, languages: '99 languages', license: 'MIT' },
  ],
  voice: {
    id: 'piper-joe-medium',
    size_mb: 63,
    repo: 'rhasspy/piper-voices',
    runtime: 'ONNX Runtime 1.32.0',
    runtime_mb: 28,
    languages: 'English (US)',
    license: 'MIT · CC0 data',
  },
  speaker: { id: 'resemblyzer-ge2e', name: 'Resemblyzer 0.1.4', size_mb: 16, license: 'Apache-2.0' },
  voice_clone: { id: 'metavoice-1b', size_mb: 4910, repos: ['metavoiceio/metavoice-1B-v0.1', 'facebook/encodec_24khz'] },
  system: { cpu: 'AMD Ryzen 7 7840U', cores: 16, available_mb: 24576, gpu: null },
};

function model(id: string, arch: string, over: Partial<InstalledModel> = {}): InstalledModel {
  return {
    id,
    file: `${id}.gguf`,
    sha256: 'x',
    size: 110_000_000,
    arch,
    source: 'pypi:gt-smollm2==0.1.0',
    added_at: 1_700_000_000,
    ...over,
  };
}

let changed: (() => void) | null = null;

beforeEach(() => {
  vi.resetAllMocks();
  enterTauri();
  changed = null;
  cmd.listModels.mockImplementation(() => ok([model('smollm2-135m-instruct-q4_1', 'llama'), model('all-minilm-l6-v2', 'bert')]));
  cmd.modelCatalog.mockResolvedValue(CATALOG);
  modelsChanged.mockImplementation(async (cb) => {
    changed = () => cb({ event: 'models-changed', id: 1, payload: { id: 'x' } });
    return () => {};
  });
});

afterEach(() => {
  document.body.innerHTML = '';
  toasts.clear();
});

function catalogRow(key: string): HTMLElement {
  const el = screen.getAllByTestId('catalog-row').find((r) => r.dataset.target === key);
  if (!el) throw new Error(`no catalog row ${key}`);
  return el;
}

const SMOL = 'chat:bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_K_M.gguf';

describe('the models screen', () => {
  it('shows this computer, and the installed models by kind with size and source', async () => {
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    const system = await screen.findByTestId('system-info');
    expect(system).toHaveTextContent('AMD Ryzen 7 7840U, 16 cores');
    expect(system).toHaveTextContent('25.8 GB');
    expect(system).toHaveTextContent('Not used by this build: models run on the processor');
    const rows = screen.getAllByTestId('model-row');
    expect(rows.map((r) => r.dataset.model)).toEqual(['smollm2-135m-instruct-q4_1', 'all-minilm-l6-v2']);
    expect(rows[0]).toHaveTextContent('Chat');
    expect(rows[0]).toHaveTextContent('110 MB');
    expect(rows[0]).toHaveTextContent('Bundled with Familiar (gt-smollm2==0.1.0)');
    expect(rows[1]).toHaveTextContent('Embedding (knowledge bases)');
    expect(screen.getByRole('tab', { name: 'Chat (1 installed)' })).toHaveAttribute('aria-selected', 'true');
  });

  it('names the GPU models run on, with its memory', async () => {
    cmd.modelCatalog.mockResolvedValue({
      ...CATALOG,
      system: {
        ...CATALOG.system,
        gpu: { name: 'NVIDIA H200', backend: 'cuda', total_mb: 143_771, free_mb: 143_000 },
      },
    });
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    const system = await screen.findByTestId('system-info');
    expect(system).toHaveTextContent('NVIDIA H200 (CUDA), 150 GB free of 151 GB: models that fit run on it');
  });

  it('lists the catalog by kind, says what may not fit, and what is installed', async () => {
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    await screen.findByTestId('system-info');
    expect(catalogRow(SMOL)).toHaveTextContent('135M parameters · Q4_K_M · 105 MB · 8,192-token context · Apache-2.0');
    expect(catalogRow('chat:ggml-org/gemma-3-4b-it-GGUF/gemma-3-4b-it-Q4_K_M.gguf')).toHaveTextContent(
      'May not fit in the memory available now.',
    );
    await userEvent.click(screen.getByRole('tab', { name: 'Embedding (1 installed)' }));
    const mini = catalogRow('embedding:sentence-transformers/all-MiniLM-L6-v2');
    expect(within(mini).getByTestId('installed-badge')).toHaveTextContent('Installed as all-minilm-l6-v2');
    expect(within(mini).queryByTestId('download-button')).toBeNull();
    await userEvent.click(screen.getByRole('tab', { name: 'Speech to text' }));
    expect(catalogRow('speech:whisper-base.en')).toHaveTextContent('English · 142 MB · MIT');
    await userEvent.click(screen.getByRole('tab', { name: 'Voice' }));
    expect(catalogRow('voice')).toHaveTextContent('piper-joe-medium');
    expect(catalogRow('voice')).toHaveTextContent('English (US) · 63 MB · MIT · CC0 data');
    expect(screen.getByText(/It runs on ONNX Runtime 1.32.0 \(28 MB from PyPI\)/)).toBeInTheDocument();
    cmd.pullModel.mockReturnValue(new Promise(() => {}));
    await userEvent.click(within(catalogRow('voice')).getByRole('button', { name: 'Download' }));
    expect(cmd.pullModel).toHaveBeenCalledWith({ kind: 'voice' }, expect.stringMatching(/^pull-/), expect.anything());
    expect(catalogRow('speaker_model')).toHaveTextContent('resemblyzer-ge2e');
    expect(catalogRow('speaker_model')).toHaveTextContent('Speaker fingerprints · 16 MB · Apache-2.0');
    await userEvent.click(within(catalogRow('speaker_model')).getByRole('button', { name: 'Download' }));
    expect(cmd.pullModel).toHaveBeenCalledWith({ kind: 'speaker_model' }, expect.stringMatching(/^pull-/), expect.anything());
    await userEvent.click(screen.getByRole('tab', { name: 'Voice cloning' }));
    expect(catalogRow('voice_clone')).toHaveTextContent('metavoice-1b');
    expect(catalogRow('voice_clone')).toHaveTextContent('4.9 GB');
  });

  it('downloads with a progress bar, stops on request, and says pulling again resumes', async () => {
    let progress: Channel<Progress> | null = null;
    let finish: (r: unknown) => void = () => {};
    cmd.pullModel.mockImplementation(((_target: unknown, _id: string, ch: Channel<Progress>) => {
      progress = ch;
      return new Promise((r) => (finish = r));
    }) as never);
    cmd.cancelJob.mockResolvedValue(true);
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    await screen.findByTestId('system-info');
    await userEvent.click(within(catalogRow(SMOL)).getByRole('button', { name: 'Download' }));
    expect(cmd.pullModel).toHaveBeenCalledWith(
      { kind: 'chat', repo: 'bartowski/SmolLM2-135M-Instruct-GGUF', file: 'SmolLM2-135M-Instruct-Q4_K_M.gguf' },
      expect.stringMatching(/^pull-/),
      expect.anything(),
    );
    const requestId = cmd.pullModel.mock.calls[0]?.[1];

    (progress as unknown as Channel<Progress>).onmessage({ done: 40_000_000, total: 110_000_000 });
    const bar = await screen.findByRole('progressbar', { name: 'Downloading SmolLM2 135M Instruct' });
    await waitFor(() => expect(bar).toHaveAttribute('aria-valuetext', '40.0 MB of 110 MB'));
    expect(bar).toHaveAttribute('aria-valuenow', '40000000');

    await userEvent.click(within(catalogRow(SMOL)).getByRole('button', { name: 'Stop' }));
    expect(cmd.cancelJob).toHaveBeenCalledExactlyOnceWith(requestId);
    finish({ status: 'error', error: { code: 'download_interrupted', message: 'cancelled after 40 MB' } });
    expect(await within(catalogRow(SMOL)).findByText('The download stopped. Pulling again resumes where it stopped.')).toBeInTheDocument();

    cmd.pullModel.mockImplementation(() => ok(model('smollm2-135m-instruct-q4_k_m', 'llama')));
    cmd.listModels.mockImplementation(() =>
      ok([model('smollm2-135m-instruct-q4_k_m', 'llama', { source: 'hf:bartowski/SmolLM2-135M-Instruct-GGUF@main/SmolLM2-135M-Instruct-Q4_K_M.gguf' })]),
    );
    await userEvent.click(within(catalogRow(SMOL)).getByRole('button', { name: 'Resume the download' }));
    expect(cmd.pullModel).toHaveBeenCalledTimes(2);
    expect(await within(catalogRow(SMOL)).findByTestId('installed-badge')).toHaveTextContent('smollm2-135m-instruct-q4_k_m');
    expect(toasts.items.map((t) => t.message)).toContain('SmolLM2 135M Instruct is installed as smollm2-135m-instruct-q4_k_m');
  });

  it('keeps a download going, and shown, when the screen is left and opened again', async () => {
    let progress: Channel<Progress> | null = null;
    cmd.pullModel.mockImplementation(((_t: unknown, _id: string, ch: Channel<Progress>) => {
      progress = ch;
      return new Promise(() => {});
    }) as never);
    const downloads = new Downloads();
    const first = render(ModelsScreen, { props: { downloads } });
    await screen.findByTestId('system-info');
    await userEvent.click(within(catalogRow(SMOL)).getByRole('button', { name: 'Download' }));
    first.unmount();
    (progress as unknown as Channel<Progress>).onmessage({ done: 10_000_000, total: 110_000_000 });
    render(ModelsScreen, { props: { downloads } });
    await screen.findByTestId('system-info');
    expect(within(catalogRow(SMOL)).getByRole('progressbar')).toHaveAttribute('aria-valuetext', '10.0 MB of 110 MB');
  });

  it('shows a failed download with its reason and offers to try again', async () => {
    cmd.pullModel.mockImplementation(() => err('invalid_input', 'the file is not a GGUF model'));
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    await screen.findByTestId('system-info');
    await userEvent.click(within(catalogRow(SMOL)).getByRole('button', { name: 'Download' }));
    const alert = await within(catalogRow(SMOL)).findByRole('alert');
    expect(alert).toHaveTextContent('the file is not a GGUF model');
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('removes a model only after the confirmation', async () => {
    cmd.removeModel.mockImplementation(() => ok(model('all-minilm-l6-v2', 'bert')));
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    await screen.findByTestId('system-info');
    await userEvent.click(screen.getByRole('button', { name: 'Remove all-minilm-l6-v2' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Remove all-minilm-l6-v2?' });
    expect(confirm).toHaveTextContent('Its files (110 MB) are deleted');
    expect(cmd.removeModel).not.toHaveBeenCalled();
    cmd.listModels.mockImplementation(() => ok([model('smollm2-135m-instruct-q4_1', 'llama')]));
    await userEvent.click(within(confirm).getByRole('button', { name: 'Remove' }));
    expect(cmd.removeModel).toHaveBeenCalledExactlyOnceWith('all-minilm-l6-v2');
    await waitFor(() => expect(screen.getAllByTestId('model-row')).toHaveLength(1));
  });

  it('imports a GGUF file chosen in the dialog', async () => {
    const pick = vi.fn(async () => ['/home/me/Qwen3-0.6B-Q8_0.gguf']);
    cmd.importModel.mockImplementation(() => ok(model('qwen3-0-6b-q8_0', 'qwen3')));
    render(ModelsScreen, { props: { downloads: new Downloads(), pick } });
    await screen.findByTestId('system-info');
    await userEvent.click(screen.getByRole('button', { name: 'Choose a file…' }));
    expect(pick).toHaveBeenCalledWith(expect.objectContaining({ filters: [{ name: 'GGUF models', extensions: ['gguf'] }] }));
    expect(cmd.importModel).toHaveBeenCalledExactlyOnceWith('/home/me/Qwen3-0.6B-Q8_0.gguf');
    await waitFor(() => expect(toasts.items.map((t) => t.message)).toContain('Imported qwen3-0-6b-q8_0'));
  });

  it('says why an import was refused', async () => {
    const pick = vi.fn(async () => ['/home/me/notes.gguf']);
    cmd.importModel.mockImplementation(() => err('invalid_input', '/home/me/notes.gguf is not a GGUF file'));
    render(ModelsScreen, { props: { downloads: new Downloads(), pick } });
    await screen.findByTestId('system-info');
    await userEvent.click(screen.getByRole('button', { name: 'Choose a file…' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('is not a GGUF file');
  });

  it('refreshes when models change elsewhere', async () => {
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    await screen.findByTestId('system-info');
    await waitFor(() => expect(changed).not.toBeNull());
    cmd.listModels.mockImplementation(() => ok([]));
    changed?.();
    expect(await screen.findByRole('heading', { name: 'No model yet' })).toBeInTheDocument();
  });

  it('guides to the setup when no model is installed', async () => {
    cmd.listModels.mockImplementation(() => ok([]));
    render(ModelsScreen, { props: { downloads: new Downloads() } });
    expect(await screen.findByRole('heading', { name: 'No model yet' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Set up the studio' })).toHaveClass('primary');
    expect(screen.getByRole('tab', { name: 'Chat' })).toBeInTheDocument();
  });
});
