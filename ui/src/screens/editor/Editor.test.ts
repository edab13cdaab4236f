import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, type AgentForm } from '../../bindings';
import Toaster from '../../components/Toaster.svelte';
import type { Route } from '../../lib/routes';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import { clearUnsaved } from './drafts';
import Editor from './Editor.svelte';
import { agentDetail, emitAgentsChanged, fail, ok, resetBindings } from './testing';

vi.mock('../../bindings', async () => (await import('./testing')).bindings);

const lena = agentDetail();

function route(tab: Extract<Route, { name: 'editor' }>['tab'] = 'persona', agent = 'lena'): Route {
  return { name: 'editor', agent, tab };
}

function setup(tab: Parameters<typeof route>[0] = 'persona') {
  render(Toaster);
  return render(Editor, { props: { route: route(tab) } });
}

/** The form the last save sent. */
function saved(): AgentForm {
  const calls = vi.mocked(commands.saveAgent).mock.calls;
  const last = calls[calls.length - 1];
  if (!last) throw new Error('saveAgent was not called');
  return last[1];
}

beforeEach(() => {
  resetBindings();
  clearUnsaved();
  enterTauri();
  window.location.hash = '#/agents/lena';
  vi.mocked(commands.getAgent).mockResolvedValue(ok(lena));
  vi.mocked(commands.saveAgent).mockResolvedValue(ok(4));
  vi.mocked(commands.listModels).mockResolvedValue(ok([]));
});

afterEach(() => {
  toasts.clear();
  document.body.innerHTML = '';
});

describe('opening an agent', () => {
  it('loads the agent the address names and fills the persona', async () => {
    setup();
    expect(await screen.findByRole('heading', { level: 2, name: 'Lena' })).toBeInTheDocument();
    expect(commands.getAgent).toHaveBeenCalledWith('lena');
    expect(screen.getByTestId('save-state')).toHaveTextContent('Version 3 · All changes saved');
    expect(screen.getByRole('textbox', { name: /^Name/ })).toHaveValue('Lena');
    expect(screen.getByRole('textbox', { name: 'Description' })).toHaveValue(lena.form.description);
    expect(screen.getByRole('list', { name: 'Tags' })).toHaveTextContent(/sample.*maritime/);
    expect(screen.getByRole('tablist', { name: 'Agent editor sections' })).toBeInTheDocument();
    expect(screen.getAllByRole('tab').map((t) => t.textContent?.replace(/\d+$/, '').trim())).toEqual([
      'Persona',
      'Greetings',
      'Example dialogue',
      'Lorebook',
      'Model & sampling',
      'Voice',
      'Knowledge',
      'History',
    ]);
    expect(screen.getByRole('link', { name: 'Chat with Lena' })).toHaveAttribute('href', '#/chat/a1b2c3d4');
  });

  it('says when the agent does not exist', async () => {
    vi.mocked(commands.getAgent).mockResolvedValue(fail('not_found', 'no agent named nobody'));
    setup();
    expect(await screen.findByRole('heading', { name: 'Not found' })).toBeInTheDocument();
    expect(screen.getByText('no agent named nobody')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Open the Library' })).toHaveAttribute('href', '#/library');
  });

  it('opens the tab of the address, and puts a chosen tab in the address', async () => {
    const { rerender } = setup('examples');
    expect(await screen.findByRole('textbox', { name: 'Example dialogue' })).toHaveValue(lena.form.mes_example);
    await userEvent.click(screen.getByRole('tab', { name: /Greetings/ }));
    expect(window.location.hash).toBe('#/agents/lena/greetings');
    expect(screen.getByRole('textbox', { name: 'First message' })).toBeInTheDocument();
    await rerender({ route: route('lorebook') });
    expect(await screen.findByRole('listbox', { name: 'Lorebook entries' })).toBeInTheDocument();
  });
});

describe('saving', () => {
  it('shows unsaved changes and saves them as a new version', async () => {
    setup();
    const description = await screen.findByRole('textbox', { name: 'Description' });
    await userEvent.clear(description);
    await userEvent.type(description, 'Keeper of the northern light.');
    expect(screen.getByTestId('save-state')).toHaveTextContent('Unsaved changes');
    vi.mocked(commands.getAgent).mockResolvedValue(
      ok(agentDetail({ version: 4 }, { description: 'Keeper of the northern light.' })),
    );
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(commands.saveAgent).toHaveBeenCalledWith('a1b2c3d4', expect.objectContaining({ description: 'Keeper of the northern light.' }));
    await waitFor(() => expect(screen.getByTestId('save-state')).toHaveTextContent('Version 4 · All changes saved'));
    expect(screen.getByText('Saved Lena as version 4')).toBeInTheDocument();
  });

  it('saves with Ctrl+S, even from a field', async () => {
    setup();
    const field = await screen.findByRole('textbox', { name: 'Scenario' });
    await userEvent.type(field, ' Fog rolls in.');
    await userEvent.keyboard('{Control>}s{/Control}');
    await waitFor(() => expect(commands.saveAgent).toHaveBeenCalledTimes(1));
    expect(saved().scenario).toBe('A stormy night at the lighthouse. Fog rolls in.');
  });

  it('shows what the core refused next to the form, and keeps the changes', async () => {
    vi.mocked(commands.saveAgent).mockResolvedValue(fail('invalid_input', 'lorebook entry 2: the regex /(/ is not valid'));
    setup();
    await userEvent.type(await screen.findByRole('textbox', { name: 'Personality' }), ' Stubborn.');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByTestId('save-error')).toHaveTextContent(
      'Not saved: lorebook entry 2: the regex /(/ is not valid',
    );
    expect(screen.getByTestId('save-state')).toHaveTextContent('Unsaved changes');
  });

  it('checks the form before sending it and points at the field to fix', async () => {
    setup();
    const name = await screen.findByRole('textbox', { name: /^Name/ });
    await userEvent.clear(name);
    expect(screen.getByText('An agent needs a name.')).toBeInTheDocument();
    expect(screen.getByRole('tab', { name: 'Persona (to fix)' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(commands.saveAgent).not.toHaveBeenCalled();
    expect(screen.getByTestId('save-error')).toHaveTextContent('one field needs a fix first');
    expect(name).toHaveFocus();
  });

  it('discards unsaved changes after asking', async () => {
    setup();
    const field = await screen.findByRole('textbox', { name: 'Creator' });
    await userEvent.type(field, ' & friends');
    await userEvent.click(screen.getByRole('button', { name: 'Discard changes' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Discard unsaved changes?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Discard changes' }));
    await waitFor(() => expect(field).toHaveValue('Familiar samples'));
    expect(screen.getByTestId('save-state')).toHaveTextContent('All changes saved');
  });

  it('follows changes made elsewhere while nothing is being edited', async () => {
    setup();
    await screen.findByRole('heading', { level: 2, name: 'Lena' });
    vi.mocked(commands.getAgent).mockResolvedValue(ok(agentDetail({ version: 5 }, { scenario: 'Calm seas.' })));
    emitAgentsChanged('a1b2c3d4');
    await waitFor(() => expect(screen.getByRole('textbox', { name: 'Scenario' })).toHaveValue('Calm seas.'));
    expect(screen.getByTestId('save-state')).toHaveTextContent('Version 5');
  });
});

describe('changes made from a tab', () => {
  it('shows a new voice setting once the shell reports the change, without asking twice', async () => {
    vi.mocked(commands.voicePresets).mockResolvedValue([
      { id: 'joe', name: 'Joe', description: '', engine: 'piper', model: 'en_US-joe-medium', rate: 1, pitch: 0 },
    ]);
    vi.mocked(commands.soundDevices).mockResolvedValue(ok([]));
    const voice = { agent: { id: 'a1b2c3d4', name: 'Lena' }, profile: null, draft: null, speaks_with: { engine: 'default', note: null } };
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok({ ...voice, preset: 'joe', rate: 1, pitch: 0 }));
    vi.mocked(commands.setAgentVoice).mockResolvedValue(ok(4));
    setup('voice');
    const rate = await screen.findByRole('spinbutton', { name: 'Speaking rate' });
    await waitFor(() => expect(rate).toHaveValue(1));
    await userEvent.clear(rate);
    await userEvent.type(rate, '1.2');
    await userEvent.click(screen.getByRole('button', { name: 'Apply to Lena' }));
    expect(await screen.findByText("Lena's voice settings saved as version 4")).toBeInTheDocument();
    // Nothing is reloaded by hand: the event does it.
    expect(commands.getAgent).toHaveBeenCalledTimes(1);
    expect(commands.voiceProfile).toHaveBeenCalledTimes(1);

    vi.mocked(commands.getAgent).mockResolvedValue(ok(agentDetail({ version: 4 })));
    vi.mocked(commands.voiceProfile).mockResolvedValue(ok({ ...voice, preset: 'joe', rate: 1.2, pitch: 0 }));
    emitAgentsChanged('a1b2c3d4');
    await waitFor(() => expect(screen.getByTestId('save-state')).toHaveTextContent('Version 4'));
    await waitFor(() => expect(commands.voiceProfile).toHaveBeenCalledTimes(2));
    expect(commands.getAgent).toHaveBeenCalledTimes(2);
    expect(rate).toHaveValue(1.2);
    expect(screen.getByRole('button', { name: 'Apply to Lena' })).toBeDisabled();
  });

  it('shows a base attached from the Knowledge tab on the card once the shell reports it', async () => {
    vi.mocked(commands.listKnowledgeBases).mockResolvedValue(
      ok([{ id: 1, name: 'jargon', embedding_model: 'all-minilm-l6-v2', dim: 384, chunk_tokens: 256, overlap_tokens: 32, documents: 2, chunks: 40, created_at: 1_700_000_000 }]),
    );
    vi.mocked(commands.attachKnowledge).mockResolvedValue(ok(4));
    setup('knowledge');
    await userEvent.click(await screen.findByRole('switch', { name: 'Lena answers from jargon' }));
    expect(await screen.findByText('Lena now answers from jargon (version 4)')).toBeInTheDocument();
    expect(commands.getAgent).toHaveBeenCalledTimes(1);
    vi.mocked(commands.getAgent).mockResolvedValue(ok(agentDetail({ version: 4, knowledge: ['jargon'] })));
    emitAgentsChanged('a1b2c3d4');
    expect(await screen.findByRole('tab', { name: 'Knowledge (1)' })).toBeInTheDocument();
    expect(screen.getByTestId('save-state')).toHaveTextContent('Version 4');
  });
});

describe('history', () => {
  it('restores a version after asking, replacing unsaved changes', async () => {
    vi.mocked(commands.agentHistory).mockResolvedValue(
      ok([
        { version: 3, name: 'Lena', reason: 'edit', created_at: 1_700_000_300 },
        { version: 1, name: 'Lena', reason: 'import', created_at: 1_700_000_100 },
      ]),
    );
    vi.mocked(commands.restoreAgent).mockResolvedValue(ok(4));
    setup();
    await userEvent.type(await screen.findByRole('textbox', { name: 'Scenario' }), ' Unsaved.');
    await userEvent.click(screen.getByRole('tab', { name: 'History' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Restore version 1' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Restore version 1?' });
    expect(dialog).toHaveTextContent('Your unsaved changes in the editor will be discarded.');
    vi.mocked(commands.getAgent).mockResolvedValue(ok(agentDetail({ version: 4 }, { scenario: 'The first draft.' })));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Restore version 1' }));
    expect(commands.restoreAgent).toHaveBeenCalledWith('a1b2c3d4', 1);
    await waitFor(() => expect(screen.getByTestId('save-state')).toHaveTextContent('Version 4 · All changes saved'));
    await userEvent.click(screen.getByRole('tab', { name: 'Persona' }));
    expect(screen.getByRole('textbox', { name: 'Scenario' })).toHaveValue('The first draft.');
  });
});

describe('leaving with unsaved changes', () => {
  function outsideLink() {
    const a = document.createElement('a');
    a.href = '#/library';
    a.textContent = 'Library';
    document.body.append(a);
    return a;
  }

  it('asks before following a link; Stay keeps everything', async () => {
    setup();
    await userEvent.type(await screen.findByRole('textbox', { name: 'Nickname' }), 'Len');
    await userEvent.click(outsideLink());
    const dialog = await screen.findByRole('alertdialog', { name: 'Leave without saving?' });
    expect(window.location.hash).toBe('#/agents/lena');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Stay' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(screen.getByRole('textbox', { name: 'Nickname' })).toHaveValue('Len');
  });

  it('saves and leaves', async () => {
    setup();
    await userEvent.type(await screen.findByRole('textbox', { name: 'Nickname' }), 'Len');
    await userEvent.click(outsideLink());
    const dialog = await screen.findByRole('alertdialog', { name: 'Leave without saving?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save and leave' }));
    await waitFor(() => expect(window.location.hash).toBe('#/library'));
    expect(saved().nickname).toBe('Len');
  });

  it('keeps unsaved changes when the editor closes anyway, and brings them back', async () => {
    const first = setup();
    await userEvent.type(await screen.findByRole('textbox', { name: 'Nickname' }), 'Len');
    first.unmount();
    render(Editor, { props: { route: route() } });
    expect(await screen.findByTestId('restored-draft')).toHaveTextContent('Your unsaved changes from earlier are back');
    expect(screen.getByRole('textbox', { name: 'Nickname' })).toHaveValue('Len');
    expect(screen.getByTestId('save-state')).toHaveTextContent('Unsaved changes');
  });
});

describe('greetings', () => {
  it('adds, reorders and removes alternate greetings', async () => {
    setup('greetings');
    await screen.findByRole('textbox', { name: 'First message' });
    await userEvent.click(screen.getByRole('button', { name: 'Add a greeting' }));
    const second = screen.getByRole('textbox', { name: 'Alternate greeting 2' });
    expect(second).toHaveFocus();
    await userEvent.type(second, 'Lamp check at midnight.');
    await userEvent.click(screen.getByRole('button', { name: 'Move alternate greeting 2 up' }));
    expect(screen.getByRole('textbox', { name: 'Alternate greeting 1' })).toHaveValue('Lamp check at midnight.');
    await userEvent.click(screen.getByRole('button', { name: 'Add a greeting' }));
    await userEvent.type(screen.getByRole('textbox', { name: 'Alternate greeting 3' }), 'Gone');
    await userEvent.click(screen.getByRole('button', { name: 'Remove alternate greeting 3' }));
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(saved().alternate_greetings).toEqual(['Lamp check at midnight.', 'Another ship? No — a visitor.']);
  });
});

describe('lorebook', () => {
  it('edits every part of an entry, adds, reorders and removes entries', async () => {
    setup('lorebook');
    const list = await screen.findByRole('listbox', { name: 'Lorebook entries' });
    expect(within(list).getAllByRole('option')).toHaveLength(1);
    await userEvent.click(screen.getByRole('button', { name: 'Add an entry' }));
    const entry = await screen.findByRole('group', { name: 'Entry: Entry 2' });
    await userEvent.type(within(entry).getByRole('textbox', { name: 'Entry name' }), 'The keeper');
    const keys = within(entry).getByRole('textbox', { name: 'Keys' });
    await userEvent.type(keys, 'keeper{Enter}lena{Enter}');
    await userEvent.type(within(entry).getByRole('textbox', { name: 'Secondary keys' }), 'night{Enter}');
    await userEvent.type(within(entry).getByRole('textbox', { name: 'Content' }), 'Lena has kept the light for 30 years.');
    await userEvent.click(within(entry).getByRole('switch', { name: 'Selective' }));
    await userEvent.click(within(entry).getByRole('switch', { name: 'Case-sensitive' }));
    const order = within(entry).getByRole('spinbutton', { name: 'Insertion order' });
    await userEvent.clear(order);
    await userEvent.type(order, '5');
    await userEvent.type(within(entry).getByRole('textbox', { name: 'Comment' }), 'From the sample notes');
    await userEvent.click(screen.getByRole('button', { name: 'Move entry The keeper up' }));
    expect(within(list).getAllByRole('option').map((o) => o.textContent)).toEqual([
      expect.stringContaining('The keeper'),
      expect.stringContaining('The lamp'),
    ]);
    const name = screen.getByRole('textbox', { name: 'Lorebook name' });
    await userEvent.clear(name);
    await userEvent.type(name, 'Coast lore');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    const book = saved().lorebook;
    expect(book.name).toBe('Coast lore');
    expect(book.entries).toEqual([
      {
        index: null,
        name: 'The keeper',
        keys: ['keeper', 'lena'],
        secondary_keys: ['night'],
        content: 'Lena has kept the light for 30 years.',
        enabled: true,
        constant: false,
        selective: true,
        case_sensitive: true,
        use_regex: false,
        insertion_order: 5,
        comment: 'From the sample notes',
      },
      expect.objectContaining({ index: 0, name: 'The lamp' }),
    ]);
  });

  it('removes an entry and marks a bad regex key', async () => {
    setup('lorebook');
    const entry = await screen.findByRole('group', { name: 'Entry: The lamp' });
    await userEvent.click(within(entry).getByRole('switch', { name: 'Regular expressions' }));
    await userEvent.type(within(entry).getByRole('textbox', { name: 'Keys' }), '/bea(con/{Enter}');
    expect(within(entry).getByText(/“\/bea\(con\/”: not a regular expression/)).toBeInTheDocument();
    expect(screen.getByRole('tab', { name: 'Lorebook (to fix)' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Remove entry The lamp' }));
    expect(screen.getByRole('heading', { name: 'No entries yet' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(saved().lorebook.entries).toEqual([]);
  });
});

describe('model and sampling', () => {
  it('offers installed chat models only and sends empty settings as defaults', async () => {
    vi.mocked(commands.listModels).mockResolvedValue(
      ok([
        { id: 'smollm2-135m', file: 'a.gguf', sha256: '', size: 105_000_000, arch: 'llama', source: 'bundled', added_at: 0 },
        { id: 'all-minilm-l6-v2', file: 'b', sha256: '', size: 90_000_000, arch: 'bert', source: 'bundled', added_at: 0 },
        { id: 'whisper-tiny.en', file: 'c', sha256: '', size: 75_000_000, arch: 'whisper', source: 'bundled', added_at: 0 },
      ]),
    );
    setup('model');
    const model = await screen.findByRole('combobox', { name: 'Model' });
    await waitFor(() => expect(within(model).getAllByRole('option')).toHaveLength(2));
    expect(within(model).getAllByRole('option').map((o) => o.textContent)).toEqual([
      "The studio's default model",
      'smollm2-135m — llama, 105 MB',
    ]);
    await userEvent.selectOptions(model, 'smollm2-135m');
    const temperature = screen.getByRole('spinbutton', { name: 'Temperature' });
    expect(temperature).toHaveAttribute('placeholder', 'Default (0.8)');
    await userEvent.type(temperature, '3');
    expect(screen.getByText('Choose 0 to 2.')).toBeInTheDocument();
    await userEvent.clear(temperature);
    await userEvent.type(temperature, '0.7');
    await userEvent.type(screen.getByRole('spinbutton', { name: 'Seed' }), '7');
    await userEvent.type(screen.getByRole('textbox', { name: 'Stop strings' }), '\\n\\n{Enter}');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(saved()).toMatchObject({
      model: 'smollm2-135m',
      context_length: null,
      chat_template: null,
      sampling: { temperature: 0.7, seed: 7, top_k: null, top_p: null, stop: ['\n\n'] },
    });
  });

  it('says when the agent asks for a model that is not installed', async () => {
    vi.mocked(commands.getAgent).mockResolvedValue(ok(agentDetail({}, { model: 'qwen3-8b' })));
    setup('model');
    expect(await screen.findByText(/This model is not installed/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Download or import one in Models' })).toHaveAttribute('href', '#/models');
    expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('qwen3-8b');
  });
});
