import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { commands, type IngestProgress, type IngestReport, type KnowledgeBase, type Version } from '../../bindings';
import Toaster from '../../components/Toaster.svelte';
import { pickPaths } from '../../lib/pick';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import HistoryTab from './HistoryTab.svelte';
import { ingests } from './ingests.svelte';
import KnowledgeTab from './KnowledgeTab.svelte';
import { agentCard, fail, ok, resetBindings } from './testing';

vi.mock('../../bindings', async () => (await import('./testing')).bindings);
vi.mock('../../lib/pick', () => ({ pickPaths: vi.fn(), pickSavePath: vi.fn() }));

function base(name: string, overrides: Partial<KnowledgeBase> = {}): KnowledgeBase {
  return {
    id: name.length,
    name,
    embedding_model: 'all-minilm-l6-v2',
    dim: 384,
    chunk_tokens: 200,
    overlap_tokens: 32,
    documents: 2,
    chunks: 40,
    created_at: 1_700_000_000,
    ...overrides,
  };
}

beforeEach(() => {
  resetBindings();
  enterTauri();
  ingests.running = null;
  ingests.dismiss();
});

afterEach(() => {
  toasts.clear();
  document.body.innerHTML = '';
});

describe('knowledge', () => {
  function setup(knowledge: string[] = ['jargon']) {
    render(Toaster);
    return render(KnowledgeTab, { props: { agent: agentCard({ knowledge }) } });
  }

  beforeEach(() => {
    vi.mocked(commands.listKnowledgeBases).mockResolvedValue(ok([base('jargon'), base('ship-logs', { documents: 0, chunks: 0 })]));
  });

  it('lists the bases with a switch for each, on for the attached ones', async () => {
    setup();
    const bases = await screen.findAllByTestId('knowledge-base');
    expect(bases.map((b) => b.dataset.base)).toEqual(['jargon', 'ship-logs']);
    expect(within(bases[0] as HTMLElement).getByRole('switch', { name: 'Lena answers from jargon' })).toHaveAttribute('aria-checked', 'true');
    expect(within(bases[1] as HTMLElement).getByRole('switch', { name: 'Lena answers from ship-logs' })).toHaveAttribute('aria-checked', 'false');
    expect(bases[0]).toHaveTextContent('2 documents · 40 passages · all-minilm-l6-v2');
  });

  it('attaches and detaches, saying so', async () => {
    vi.mocked(commands.attachKnowledge).mockResolvedValue(ok(4));
    vi.mocked(commands.detachKnowledge).mockResolvedValue(fail('storage', 'database is locked'));
    setup();
    await userEvent.click(await screen.findByRole('switch', { name: 'Lena answers from ship-logs' }));
    expect(commands.attachKnowledge).toHaveBeenCalledWith('a1b2c3d4', 'ship-logs');
    expect(await screen.findByText('Lena now answers from ship-logs (version 4)')).toBeInTheDocument();
    // On until the card the editor reloads (on agents-changed) says so.
    expect(screen.getByRole('switch', { name: 'Lena answers from ship-logs' })).toHaveAttribute('aria-checked', 'true');

    const jargon = screen.getByRole('switch', { name: 'Lena answers from jargon' });
    await userEvent.click(jargon);
    expect(commands.detachKnowledge).toHaveBeenCalledWith('a1b2c3d4', 'jargon');
    expect(await screen.findByText('database is locked')).toBeInTheDocument();
    await waitFor(() => expect(jargon).toHaveAttribute('aria-checked', 'true'));
  });

  it('creates a base and attaches it', async () => {
    vi.mocked(commands.createKnowledgeBase).mockResolvedValue(ok(base('recipes', { documents: 0, chunks: 0 })));
    vi.mocked(commands.attachKnowledge).mockResolvedValue(ok(4));
    vi.mocked(commands.getKnowledgeBase).mockResolvedValue(ok({ base: base('recipes'), documents: [] }));
    setup([]);
    await screen.findAllByTestId('knowledge-base');
    vi.mocked(commands.listKnowledgeBases).mockResolvedValue(ok([base('jargon'), base('recipes', { documents: 0, chunks: 0 })]));
    await userEvent.type(screen.getByRole('textbox', { name: 'New knowledge base' }), 'recipes');
    await userEvent.click(screen.getByRole('button', { name: 'Create and attach' }));
    expect(commands.createKnowledgeBase).toHaveBeenCalledWith('recipes');
    await waitFor(() => expect(commands.attachKnowledge).toHaveBeenCalledWith('a1b2c3d4', 'recipes'));
    expect(await screen.findByText('No documents yet: drop some above.')).toBeInTheDocument();
  });

  it('with no bases, says what they are for', async () => {
    vi.mocked(commands.listKnowledgeBases).mockResolvedValue(ok([]));
    setup([]);
    expect(await screen.findByRole('heading', { name: 'No knowledge bases yet' })).toBeInTheDocument();
  });

  it('adds documents with per-file progress and reports each file', async () => {
    let finish: (r: { status: 'ok'; data: IngestReport }) => void = () => {};
    vi.mocked(commands.addDocuments).mockImplementation(() => new Promise((resolve) => (finish = resolve)));
    vi.mocked(commands.getKnowledgeBase).mockResolvedValue(
      ok({
        base: base('jargon'),
        documents: [
          { id: 1, path: '/docs/jargon.txt', name: 'jargon.txt', kind: 'text', title: 'The Jargon File', sha256: '', size: 1_200_000, chunks: 38, added_at: 1_700_000_000 },
        ],
      }),
    );
    vi.mocked(pickPaths).mockResolvedValue(['/docs/notes']);
    setup();
    await userEvent.click(await screen.findByRole('button', { name: 'Documents of jargon' }));
    expect(screen.getByRole('button', { name: 'Documents of jargon' })).toHaveAttribute('aria-expanded', 'true');
    expect(await screen.findByRole('rowheader', { name: 'The Jargon File' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Choose a folder…' }));
    expect(commands.addDocuments).toHaveBeenCalledWith('jargon', ['/docs/notes'], expect.stringMatching(/^ingest-/), expect.anything());
    const progress = (vi.mocked(commands.addDocuments).mock.calls[0]?.[3] ?? null) as Channel<IngestProgress> | null;
    progress?.onmessage({ files_done: 1, files_total: 3, chunks_done: 12, current: '/docs/notes/b.md', eta_seconds: 21 });
    const bar = await screen.findByRole('progressbar', { name: 'Reading b.md' });
    expect(bar).toHaveAttribute('aria-valuetext', '1 of 3 files · 12 passages · 0:21 left');
    finish(
      ok({
        base: 'jargon',
        files: [
          { path: '/docs/notes/a.md', status: 'added', kind: 'markdown', chunks: 10, error: null },
          { path: '/docs/notes/b.md', status: 'unchanged', kind: 'markdown', chunks: 0, error: null },
          { path: '/docs/notes/c.pdf', status: 'failed', kind: 'pdf', chunks: 0, error: 'the PDF is encrypted' },
        ],
        added: 1,
        updated: 0,
        unchanged: 1,
        failed: 1,
        chunks: 10,
      }),
    );
    const report = await screen.findByTestId('ingest-report');
    expect(report).toHaveTextContent('1 added, 0 updated, 1 unchanged, 1 failed — 10 passages.');
    expect(within(report).getByRole('list', { name: 'Files read into jargon' })).toHaveTextContent('c.pdf failed the PDF is encrypted');
  });

  it('stops adding documents on request', async () => {
    let reject: (r: { status: 'error'; error: { code: 'cancelled'; message: string } }) => void = () => {};
    vi.mocked(commands.addDocuments).mockImplementation(() => new Promise((resolve) => (reject = resolve)));
    vi.mocked(commands.cancelJob).mockResolvedValue(true);
    vi.mocked(commands.getKnowledgeBase).mockResolvedValue(ok({ base: base('jargon'), documents: [] }));
    vi.mocked(pickPaths).mockResolvedValue(['/docs/big.pdf']);
    setup();
    await userEvent.click(await screen.findByRole('button', { name: 'Documents of jargon' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Choose files…' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Stop adding' }));
    const id = vi.mocked(commands.addDocuments).mock.calls[0]?.[2];
    expect(commands.cancelJob).toHaveBeenCalledWith(id);
    reject(fail('cancelled', 'cancelled') as { status: 'error'; error: { code: 'cancelled'; message: string } });
    expect(await screen.findByText('Stopped. The documents finished before stopping stay in jargon.')).toBeInTheDocument();
  });

  it('keeps showing an ingest when the tab is closed and opened again', async () => {
    let finish: (r: { status: 'ok'; data: IngestReport }) => void = () => {};
    vi.mocked(commands.addDocuments).mockImplementation(() => new Promise((resolve) => (finish = resolve)));
    vi.mocked(commands.getKnowledgeBase).mockResolvedValue(ok({ base: base('jargon'), documents: [] }));
    vi.mocked(pickPaths).mockResolvedValue(['/docs/a.md']);
    const first = setup();
    await userEvent.click(await screen.findByRole('button', { name: 'Documents of jargon' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Choose files…' }));
    await screen.findByTestId('ingest-progress');
    first.unmount();
    render(KnowledgeTab, { props: { agent: agentCard({ knowledge: ['jargon'] }) } });
    expect(await screen.findByTestId('ingest-progress')).toBeInTheDocument();
    vi.mocked(commands.listKnowledgeBases).mockClear();
    finish(
      ok({
        base: 'jargon',
        files: [{ path: '/docs/a.md', status: 'added', kind: 'markdown', chunks: 3, error: null }],
        added: 1,
        updated: 0,
        unchanged: 0,
        failed: 0,
        chunks: 3,
      }),
    );
    expect(await screen.findByTestId('ingest-report')).toHaveTextContent('1 added');
    await waitFor(() => expect(commands.listKnowledgeBases).toHaveBeenCalled());
  });

  it('removes a document after asking', async () => {
    const doc = { id: 1, path: '/docs/jargon.txt', name: 'jargon.txt', kind: 'text', title: null, sha256: '', size: 10, chunks: 1, added_at: 1 };
    vi.mocked(commands.getKnowledgeBase).mockResolvedValue(ok({ base: base('jargon'), documents: [doc] }));
    vi.mocked(commands.removeDocument).mockResolvedValue(ok(doc));
    setup();
    await userEvent.click(await screen.findByRole('button', { name: 'Documents of jargon' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Remove jargon.txt from jargon' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Remove jargon.txt?' });
    vi.mocked(commands.getKnowledgeBase).mockResolvedValue(ok({ base: base('jargon'), documents: [] }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    expect(commands.removeDocument).toHaveBeenCalledWith('jargon', '/docs/jargon.txt');
    expect(await screen.findByText('jargon.txt was removed from jargon')).toBeInTheDocument();
  });
});

describe('history', () => {
  const versions: Version[] = [
    { version: 3, name: 'Lena', reason: 'edit', created_at: 1_700_000_300 },
    { version: 2, name: 'Lena', reason: 'voice profile', created_at: 1_700_000_200 },
    { version: 1, name: 'Lena (draft)', reason: 'import', created_at: 1_700_000_100 },
  ];

  it('lists the versions, newest first, and restores one after asking', async () => {
    vi.mocked(commands.agentHistory).mockResolvedValue(ok(versions));
    vi.mocked(commands.restoreAgent).mockResolvedValue(ok(4));
    const onrestored = vi.fn();
    render(Toaster);
    render(HistoryTab, { props: { agent: agentCard(), revision: 0, dirty: true, onrestored } });
    const items = await screen.findAllByTestId('version');
    expect(items.map((i) => i.dataset.version)).toEqual(['3', '2', '1']);
    expect(items[0]).toHaveTextContent(/Version 3\s*Current\s*Edited/);
    expect(items[1]).toHaveTextContent('Voice profile added');
    expect(items[2]).toHaveTextContent('Imported as “Lena (draft)”');
    expect(within(items[0] as HTMLElement).queryByRole('button')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Restore version 1' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Restore version 1?' });
    expect(dialog).toHaveTextContent('Your unsaved changes in the editor will be discarded.');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Restore version 1' }));
    expect(commands.restoreAgent).toHaveBeenCalledWith('a1b2c3d4', 1);
    expect(onrestored).toHaveBeenCalledWith(4);
    expect(await screen.findByText('Version 1 of Lena restored as version 4')).toBeInTheDocument();
  });

  it('says when the history cannot be read', async () => {
    vi.mocked(commands.agentHistory).mockResolvedValue(fail('storage', 'disk I/O error'));
    render(HistoryTab, { props: { agent: agentCard(), revision: 0, dirty: false, onrestored: vi.fn() } });
    expect(await screen.findByRole('heading', { name: 'Your data could not be read or written' })).toBeInTheDocument();
    vi.mocked(commands.agentHistory).mockResolvedValue(ok(versions));
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findAllByTestId('version')).toHaveLength(3);
  });
});
