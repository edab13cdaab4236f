import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands } from '../../bindings';
import { dropRouter } from '../../lib/drop';
import { pickPaths, pickSavePath } from '../../lib/pick';
import { toasts } from '../../lib/toasts.svelte';
import Toaster from '../../components/Toaster.svelte';
import { enterTauri } from '../../test/tauri';
import { agentCard, emitAgentsChanged, fail, ok, resetBindings } from '../editor/testing';
import Library from './Library.svelte';
import { exportFileName, searchAgents } from './library';

vi.mock('../../bindings', async () => (await import('../editor/testing')).bindings);
vi.mock('../../lib/pick', () => ({ pickPaths: vi.fn(), pickSavePath: vi.fn() }));
vi.mock('../../lib/drop', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/drop')>();
  const { testDropRouter } = await import('../../test/drop');
  const test = testDropRouter(original.DropRouter);
  return { ...original, dropRouter: Object.assign(test.router, { testDrop: test.drop }) };
});

const lena = agentCard({ tags: ['sample', 'maritime'] });
const ada = agentCard({
  id: 'f00dbabe',
  name: 'Ada',
  summary: 'A librarian who answers from the Jargon File.',
  tags: ['sample'],
  knowledge: ['jargon'],
  voice_profile: true,
  origin: 'import',
});

function drop(paths: string[]) {
  (dropRouter as unknown as { testDrop: (p: string[]) => void }).testDrop(paths);
}

function setup() {
  render(Toaster);
  return render(Library);
}

beforeEach(() => {
  resetBindings();
  enterTauri();
  vi.mocked(commands.listAgents).mockImplementation(async (trash: boolean) => ok(trash ? [] : [lena, ada]));
});

afterEach(() => {
  toasts.clear();
  document.body.innerHTML = '';
});

describe('the library', () => {
  it('shows every agent as a card with its avatar, links and actions', async () => {
    vi.mocked(commands.listAgents).mockResolvedValue(
      ok([agentCard({ avatar: 'data:image/png;base64,iVBORw0KGgo=' }), ada]),
    );
    setup();
    const cards = await screen.findAllByTestId('agent-card');
    expect(cards).toHaveLength(2);
    expect(commands.listAgents).toHaveBeenCalledWith(false);
    const [lenaCard, adaCard] = cards as [HTMLElement, HTMLElement];
    const first = within(lenaCard);
    expect(first.getByRole('link', { name: 'Lena' })).toHaveAttribute('href', '#/agents/a1b2c3d4');
    expect(lenaCard.querySelector('img')).toHaveAttribute('src', 'data:image/png;base64,iVBORw0KGgo=');
    expect(first.getByRole('link', { name: 'Chat with Lena' })).toHaveAttribute('href', '#/chat/a1b2c3d4');
    expect(first.getByRole('link', { name: 'Edit Lena' })).toHaveAttribute('href', '#/agents/a1b2c3d4');
    expect(first.getByRole('button', { name: 'Export Lena' })).toBeInTheDocument();
    expect(first.getByRole('button', { name: 'Delete Lena' })).toBeInTheDocument();
    expect(within(adaCard).getByRole('list', { name: 'About Ada' })).toHaveTextContent(/Voice profile.*Knowledge: jargon/);
    expect(screen.getByText('2 agents')).toBeInTheDocument();
  });

  it('shows the agents the shell handed the page at once, then what the core says', async () => {
    window.__FAMILIAR_BOOT__ = { agents: [ada] };
    let answer: (value: Awaited<ReturnType<typeof commands.listAgents>>) => void = () => {};
    vi.mocked(commands.listAgents).mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
    setup();
    // Painted with the boot data, before the core has answered.
    expect(screen.getAllByTestId('agent-card')).toHaveLength(1);
    expect(screen.getByText('1 agent')).toBeInTheDocument();
    answer(ok([lena, ada]));
    await waitFor(() => expect(screen.getAllByTestId('agent-card')).toHaveLength(2));
    // Taken once: a Library opened later asks the core.
    expect(window.__FAMILIAR_BOOT__).toEqual({});
    delete window.__FAMILIAR_BOOT__;
  });

  it('searches names, tags and summaries', async () => {
    setup();
    await screen.findAllByTestId('agent-card');
    const search = screen.getByRole('searchbox', { name: 'Search agents' });
    await userEvent.type(search, 'maritime');
    expect(screen.getAllByTestId('agent-card').map((c) => c.dataset.agentId)).toEqual(['a1b2c3d4']);
    expect(screen.getByText('1 of 2 match “maritime”')).toBeInTheDocument();
    await userEvent.clear(search);
    await userEvent.type(search, 'jargon librarian');
    expect(screen.getAllByTestId('agent-card').map((c) => c.dataset.agentId)).toEqual(['f00dbabe']);
    await userEvent.clear(search);
    await userEvent.type(search, 'pirate');
    expect(screen.getByRole('heading', { name: 'No agent matches “pirate”' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Clear the search' }));
    expect(screen.getAllByTestId('agent-card')).toHaveLength(2);
  });

  it('"/" focuses the search', async () => {
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.keyboard('/');
    expect(screen.getByRole('searchbox', { name: 'Search agents' })).toHaveFocus();
  });

  it('with no agents, says how to get some and links to Settings', async () => {
    vi.mocked(commands.listAgents).mockResolvedValue(ok([]));
    setup();
    expect(await screen.findByRole('heading', { name: 'No agents yet' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Install the samples in Settings' })).toHaveAttribute('href', '#/settings');
    expect(screen.getByRole('group', { name: 'Drop character cards here to import them' })).toBeInTheDocument();
  });

  it('says what went wrong when the list cannot be read, and tries again', async () => {
    vi.mocked(commands.listAgents).mockResolvedValueOnce(fail('storage', 'could not open familiar.db'));
    setup();
    expect(await screen.findByRole('heading', { name: 'Your data could not be read or written' })).toBeInTheDocument();
    expect(screen.getByText('could not open familiar.db')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Open Settings' })).toHaveAttribute('href', '#/settings');
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findAllByTestId('agent-card')).toHaveLength(2);
  });

  it('refreshes when agents change', async () => {
    setup();
    await screen.findAllByTestId('agent-card');
    vi.mocked(commands.listAgents).mockResolvedValue(ok([lena, ada, agentCard({ id: 'c0ffee00', name: 'Captain Byte' })]));
    emitAgentsChanged('c0ffee00');
    await waitFor(() => expect(screen.getAllByTestId('agent-card')).toHaveLength(3));
  });
});

describe('import', () => {
  it('imports dropped files one by one and reports each, warnings and failures included', async () => {
    setup();
    await screen.findAllByTestId('agent-card');
    vi.mocked(commands.importAgent).mockImplementation(async (path: string) =>
      path.endsWith('bad.png')
        ? fail('invalid_input', 'bad.png: the PNG has a wrong CRC in chunk tEXt')
        : ok({ id: 'c0ffee00', name: 'Captain Byte', format: 'elizaOS character', warnings: ['secrets were dropped'] }),
    );
    drop(['/home/me/byte.json', '/home/me/bad.png']);
    const report = await screen.findByTestId('import-outcome');
    expect(commands.importAgent).toHaveBeenNthCalledWith(1, '/home/me/byte.json');
    expect(commands.importAgent).toHaveBeenNthCalledWith(2, '/home/me/bad.png');
    expect(within(report).getByRole('heading')).toHaveTextContent('Imported 1 of 2 files');
    expect(within(report).getByRole('link', { name: 'Captain Byte' })).toHaveAttribute('href', '#/agents/c0ffee00');
    expect(within(report).getByRole('list', { name: 'Warnings for Captain Byte' })).toHaveTextContent('secrets were dropped');
    expect(report).toHaveTextContent('bad.png: That could not be used.');
    expect(report).toHaveTextContent('the PNG has a wrong CRC in chunk tEXt');
    await userEvent.click(within(report).getByRole('button', { name: 'Close the import report' }));
    expect(screen.queryByTestId('import-outcome')).toBeNull();
  });

  it('imports files chosen in the dialog', async () => {
    vi.mocked(pickPaths).mockResolvedValue(['/cards/lena.charx']);
    vi.mocked(commands.importAgent).mockResolvedValue(ok({ id: 'a1', name: 'Lena', format: 'CHARX', warnings: [] }));
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('button', { name: 'Choose files…' }));
    expect(pickPaths).toHaveBeenCalledWith(
      expect.objectContaining({ multiple: true, filters: expect.arrayContaining([expect.objectContaining({ extensions: ['png', 'charx', 'json'] })]) }),
    );
    expect(await screen.findByRole('heading', { name: 'Imported 1 agent' })).toBeInTheDocument();
    expect(commands.importAgent).toHaveBeenCalledWith('/cards/lena.charx');
  });
});

describe('delete, undo and the trash', () => {
  it('moves an agent to the trash with Undo', async () => {
    vi.mocked(commands.deleteAgent).mockResolvedValue(ok({ id: lena.id, name: 'Lena' }));
    vi.mocked(commands.undeleteAgent).mockResolvedValue(ok({ id: lena.id, name: 'Lena' }));
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('button', { name: 'Delete Lena' }));
    expect(commands.deleteAgent).toHaveBeenCalledWith('a1b2c3d4');
    await waitFor(() => expect(screen.getAllByTestId('agent-card')).toHaveLength(1));
    expect(screen.getByRole('link', { name: 'Ada' })).toHaveFocus();
    const notice = screen.getByText('Lena moved to the trash').closest('li') as HTMLElement;
    await userEvent.click(within(notice).getByRole('button', { name: 'Undo' }));
    expect(commands.undeleteAgent).toHaveBeenCalledWith('a1b2c3d4');
    expect(await screen.findByText('Lena is back in the Library')).toBeInTheDocument();
  });

  it('says so when a delete fails', async () => {
    vi.mocked(commands.deleteAgent).mockResolvedValue(fail('not_found', 'no agent a1b2c3d4'));
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('button', { name: 'Delete Lena' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Lena was not deleted. Not found: no agent a1b2c3d4');
    expect(screen.getAllByTestId('agent-card')).toHaveLength(2);
  });

  it('shows the trash and restores from it', async () => {
    const gone = agentCard({ id: 'dead0001', name: 'Old Tom', deleted_at: 1_700_001_000 });
    vi.mocked(commands.listAgents).mockImplementation(async (trash: boolean) => ok(trash ? [gone] : [lena]));
    vi.mocked(commands.undeleteAgent).mockResolvedValue(ok({ id: gone.id, name: gone.name }));
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('tab', { name: 'Trash' }));
    expect(commands.listAgents).toHaveBeenLastCalledWith(true);
    const card = await screen.findByTestId('agent-card');
    expect(card).toHaveTextContent(/Deleted/);
    expect(within(card).queryByRole('link')).toBeNull();
    await userEvent.click(within(card).getByRole('button', { name: 'Restore Old Tom' }));
    expect(commands.undeleteAgent).toHaveBeenCalledWith('dead0001');
    expect(await screen.findByRole('heading', { name: 'The trash is empty' })).toBeInTheDocument();
  });
});

describe('deleting for good', () => {
  const gone = agentCard({ id: 'dead0001', name: 'Old Tom', deleted_at: 1_700_001_000 });

  async function openTrash() {
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('tab', { name: 'Trash' }));
    return screen.findByTestId('agent-card');
  }

  beforeEach(() => {
    vi.mocked(commands.listAgents).mockImplementation(async (trash: boolean) => ok(trash ? [gone] : [lena]));
  });

  it('asks first, saying the whole history goes, then deletes from the trash for good', async () => {
    vi.mocked(commands.purgeAgent).mockResolvedValue(ok({ id: gone.id, name: gone.name }));
    const card = await openTrash();
    await userEvent.click(within(card).getByRole('button', { name: 'Delete Old Tom for good' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Delete Old Tom for good?' });
    expect(dialog).toHaveTextContent('Old Tom and its whole history');
    expect(dialog).toHaveTextContent('This cannot be undone.');
    expect(commands.purgeAgent).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete for good' }));
    expect(commands.purgeAgent).toHaveBeenCalledWith('dead0001');
    expect(await screen.findByRole('heading', { name: 'The trash is empty' })).toBeInTheDocument();
    expect(screen.getByText('Old Tom was deleted for good')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(screen.getByRole('searchbox', { name: 'Search agents' })).toHaveFocus();
    expect(commands.deleteAgent).not.toHaveBeenCalled();
  });

  it('does nothing when the question is cancelled', async () => {
    const card = await openTrash();
    await userEvent.click(within(card).getByRole('button', { name: 'Delete Old Tom for good' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Delete Old Tom for good?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(commands.purgeAgent).not.toHaveBeenCalled();
    expect(screen.getByTestId('agent-card')).toHaveTextContent('Old Tom');
  });

  it('keeps the question open with the reason when the core refuses', async () => {
    vi.mocked(commands.purgeAgent).mockResolvedValue(fail('invalid_input', 'Old Tom is not in the trash: delete it first'));
    const card = await openTrash();
    await userEvent.click(within(card).getByRole('button', { name: 'Delete Old Tom for good' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Delete Old Tom for good?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete for good' }));
    expect(await within(dialog).findByText('Old Tom is not in the trash: delete it first')).toBeInTheDocument();
    expect(screen.getByTestId('agent-card')).toHaveTextContent('Old Tom');
  });

  it('is offered only in the trash', async () => {
    setup();
    const [card] = await screen.findAllByTestId('agent-card');
    expect(within(card as HTMLElement).queryByRole('button', { name: /for good/ })).toBeNull();
  });
});

describe('export', () => {
  it('exports in the chosen format to the chosen file', async () => {
    vi.mocked(pickSavePath).mockResolvedValue('/out/Lena.charx');
    vi.mocked(commands.exportAgent).mockResolvedValue(ok({ id: lena.id, name: 'Lena' }));
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('button', { name: 'Export Lena' }));
    const dialog = await screen.findByRole('dialog', { name: 'Export Lena' });
    expect(within(dialog).getByRole('radio', { name: /Character card PNG/ })).toBeChecked();
    await userEvent.click(within(dialog).getByRole('radio', { name: /CHARX/ }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Choose where to save…' }));
    expect(pickSavePath).toHaveBeenCalledWith(expect.objectContaining({ defaultPath: 'Lena.charx' }));
    expect(commands.exportAgent).toHaveBeenCalledWith('a1b2c3d4', 'charx', '/out/Lena.charx');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.getByText('Exported Lena to /out/Lena.charx')).toBeInTheDocument();
  });

  it('keeps the dialog open with the reason when the export fails, and does nothing when the save dialog is closed', async () => {
    vi.mocked(pickSavePath).mockResolvedValueOnce(null).mockResolvedValueOnce('/readonly/Lena.png');
    vi.mocked(commands.exportAgent).mockResolvedValue(fail('storage', 'could not write /readonly/Lena.png'));
    setup();
    await screen.findAllByTestId('agent-card');
    await userEvent.click(screen.getByRole('button', { name: 'Export Lena' }));
    const dialog = await screen.findByRole('dialog', { name: 'Export Lena' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Choose where to save…' }));
    expect(commands.exportAgent).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Choose where to save…' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('could not write /readonly/Lena.png');
    expect(commands.exportAgent).toHaveBeenCalledWith('a1b2c3d4', 'ccv3-png', '/readonly/Lena.png');
  });
});

describe('library helpers', () => {
  it('names export files safely', () => {
    expect(exportFileName('Lena', 'ccv3-png')).toBe('Lena.png');
    expect(exportFileName('Captain: Byte/2?', 'eliza-json')).toBe('Captain Byte 2.character.json');
    expect(exportFileName('..', 'ccv2-json')).toBe('agent.v2.json');
  });

  it('matches every word of a search', () => {
    expect(searchAgents([lena, ada], 'SAMPLE').map((a) => a.name)).toEqual(['Lena', 'Ada']);
    expect(searchAgents([lena, ada], 'sample light').map((a) => a.name)).toEqual(['Lena']);
  });
});
