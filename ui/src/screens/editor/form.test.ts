import { describe, expect, it } from 'vitest';
import type { LoreEntryForm } from '../../bindings';
import { flushSync } from 'svelte';
import { AgentDraft } from './draft.svelte';
import { clearUnsaved, keepUnsaved, takeUnsaved } from './drafts';
import {
  SAMPLING,
  entryTitle,
  errorTab,
  isChatModel,
  moveItem,
  newLoreEntry,
  normalizeForm,
  numberProblem,
  readEscapes,
  regexProblem,
  sameForm,
  showEscapes,
  validateForm,
} from './form';
import { agentForm } from './testing';

describe('sameForm', () => {
  it('treats an emptied optional text and an unreadable number as unset', () => {
    const a = agentForm();
    const b = agentForm({ nickname: '', chat_template: '', context_length: Number.NaN });
    expect(sameForm(a, b)).toBe(true);
    expect(normalizeForm(b).nickname).toBeNull();
    expect(sameForm(a, agentForm({ nickname: 'Len' }))).toBe(false);
  });

  it('sees changes deep in the lorebook and the sampling', () => {
    const a = agentForm();
    const b = agentForm();
    b.lorebook.entries[0]?.keys.push('beacon');
    expect(sameForm(a, b)).toBe(false);
    const c = agentForm();
    c.sampling.temperature = 0.7;
    expect(sameForm(a, c)).toBe(false);
  });
});

describe('validateForm', () => {
  it('accepts the form of a stored agent', () => {
    expect(validateForm(agentForm())).toEqual({});
  });

  it('needs a name, numbers in range, whole numbers where counted, readable regex keys', () => {
    const form = agentForm({ name: '  ', context_length: 12.5 });
    form.sampling.temperature = 3;
    form.sampling.top_k = 1.5;
    form.lorebook.entries[0] = { ...(form.lorebook.entries[0] as LoreEntryForm), use_regex: true, keys: ['/light(/i'] };
    const errors = validateForm(form);
    expect(errors.name).toBe('An agent needs a name.');
    expect(errors['sampling.temperature']).toBe('Choose 0 to 2.');
    expect(errors['sampling.top_k']).toBe('Enter a whole number.');
    expect(errors.context_length).toBe('Enter a whole number.');
    expect(errors['lorebook.entries.0.keys']).toMatch(/^“\/light\(\/i”: not a regular expression/);
  });

  it('names the tab of each field', () => {
    expect(errorTab('name')).toBe('persona');
    expect(errorTab('sampling.seed')).toBe('model');
    expect(errorTab('context_length')).toBe('model');
    expect(errorTab('lorebook.entries.3.insertion_order')).toBe('lorebook');
  });
});

describe('numbers', () => {
  it('leaves an empty field to the default', () => {
    expect(numberProblem(null, SAMPLING.top_p)).toBeNull();
    expect(numberProblem(0.9, SAMPLING.top_p)).toBeNull();
    expect(numberProblem(1.2, SAMPLING.top_p)).toBe('Choose 0 to 1.');
    expect(numberProblem(Number.NaN, SAMPLING.top_p)).toBe('Enter a number, or leave it empty.');
  });
});

describe('lists', () => {
  it('moves items and clamps', () => {
    expect(moveItem(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(moveItem(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
    const same = ['a', 'b'];
    expect(moveItem(same, 0, -1)).toBe(same);
  });

  it('adds lore entries after the others and names them', () => {
    const entries = agentForm().lorebook.entries;
    expect(newLoreEntry(entries)).toMatchObject({ index: null, insertion_order: 101, enabled: true, keys: [] });
    expect(newLoreEntry([]).insertion_order).toBe(100);
    const lamp = entries[0] as LoreEntryForm;
    expect(entryTitle(lamp, 0)).toBe('The lamp');
    expect(entryTitle({ ...lamp, name: null }, 0)).toBe('lamp, light');
    expect(entryTitle({ ...lamp, name: ' ', keys: [] }, 4)).toBe('Entry 5');
  });

  it('shows and reads escapes in stop strings', () => {
    expect(showEscapes('\nUser:')).toBe('\\nUser:');
    expect(readEscapes('\\nUser:')).toBe('\nUser:');
    expect(readEscapes(showEscapes('a\\n\tb\n'))).toBe('a\\n\tb\n');
  });

  it('checks regex keys', () => {
    expect(regexProblem('/ligh?t/i')).toBeNull();
    expect(regexProblem('beacon|lamp')).toBeNull();
    expect(regexProblem('/(/')).not.toBeNull();
  });

  it('tells chat models from the others', () => {
    expect(isChatModel({ arch: 'llama' })).toBe(true);
    for (const arch of ['bert', 'nomic_bert', 'whisper', 'piper', 'ge2e', 'metavoice']) expect(isChatModel({ arch })).toBe(false);
  });
});

describe('AgentDraft', () => {
  it('knows when there are unsaved changes, and what to fix', () => {
    const draft = new AgentDraft(agentForm());
    expect(draft.dirty).toBe(false);
    draft.form.description = 'A keeper of lights.';
    flushSync();
    expect(draft.dirty).toBe(true);
    draft.form.name = '';
    flushSync();
    expect(draft.errors.name).toBeDefined();
    draft.discard();
    flushSync();
    expect(draft.dirty).toBe(false);
    expect(draft.form.description).toBe(agentForm().description);
  });

  it('takes what was sent as saved, keeping edits made meanwhile', () => {
    const draft = new AgentDraft(agentForm());
    draft.form.scenario = 'Calm seas.';
    const sent = normalizeForm(draft.form);
    draft.form.personality = 'Tired.';
    draft.markSaved(sent);
    expect(draft.dirty).toBe(true);
    draft.form.personality = agentForm().personality;
    expect(draft.dirty).toBe(false);
  });

  it('starts from earlier unsaved changes when given them', () => {
    clearUnsaved();
    keepUnsaved('a1', agentForm({ scenario: 'Fog.' }));
    const kept = takeUnsaved('a1');
    expect(takeUnsaved('a1')).toBeUndefined();
    const draft = new AgentDraft(agentForm(), kept);
    expect(draft.form.scenario).toBe('Fog.');
    expect(draft.dirty).toBe(true);
  });
});
