import type { Channel } from '@tauri-apps/api/core';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  AgentCard,
  AgentForm,
  ChatMessage,
  Citation,
  Conversation,
  ConversationView,
  ReplyDelta,
  ReplyReport,
  TalkEvent,
} from '../../bindings';
import type { Route } from '../../lib/routes';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';
import Chat from './Chat.svelte';

vi.mock('../../bindings', () => ({
  commands: {
    listAgents: vi.fn(),
    getAgent: vi.fn(),
    listConversations: vi.fn(),
    startConversation: vi.fn(),
    getConversation: vi.fn(),
    sendMessage: vi.fn(),
    regenerate: vi.fn(),
    editMessage: vi.fn(),
    branchFrom: vi.fn(),
    switchVersion: vi.fn(),
    deleteMessage: vi.fn(),
    messageVersions: vi.fn(),
    cancelJob: vi.fn(),
    startTalk: vi.fn(),
    talkControl: vi.fn(),
    soundDevices: vi.fn(),
  },
}));

const { commands } = await import('../../bindings');
const mocked = vi.mocked(commands);

// Fixtures: what the core returns for Lena, who has one conversation.

const lena: AgentCard = {
  id: 'lena',
  name: 'Lena',
  version: 3,
  origin: 'sample:lena',
  summary: 'A patient tutor.',
  tags: [],
  avatar: null,
  model: 'qwen2.5-0.5b-instruct',
  knowledge: ['handbook'],
  voice_profile: false,
  created_at: 1_700_000_000,
  updated_at: 1_700_000_000,
  deleted_at: null,
};

const form = {
  name: 'Lena',
  nickname: null,
  first_mes: 'Hello {{user}}, I am {{char}}.',
  alternate_greetings: ['*{{char}} looks up from her book.*'],
} as AgentForm;

const conversation: Conversation = {
  id: 'c1',
  agent_id: 'lena',
  title: 'Lena — morning',
  user_name: 'User',
  head_id: 'a1',
  created_at: 1_700_000_100,
  updated_at: 1_700_000_300,
};
const older: Conversation = { ...conversation, id: 'c0', title: 'Lena — yesterday', updated_at: 1_699_990_000 };

let clock = 1_700_000_100;
function message(id: string, role: 'user' | 'assistant', content: string, more: Partial<ChatMessage> = {}): ChatMessage {
  clock += 10;
  return {
    id,
    parent_id: null,
    role,
    content,
    model: null,
    sampling: null,
    timings: null,
    citations: null,
    created_at: clock,
    ...more,
  };
}

const timings = { tokens_per_second: 21.53, first_token_ms: 250, generated_tokens: 12, stop: 'end_of_turn' };
const greeting = message('g1', 'assistant', 'Hello User, I am Lena.');
const question = message('u1', 'user', 'What is a verb?', { parent_id: 'g1' });
const answer = message('a1', 'assistant', 'A verb is a word for an action.', {
  parent_id: 'u1',
  model: 'qwen2.5-0.5b-instruct',
  timings,
});

let thread: ChatMessage[];

const ok = <T,>(data: T) => Promise.resolve({ status: 'ok' as const, data });
const fail = (code: string, text: string) =>
  Promise.resolve({ status: 'error' as const, error: { code, message: text } }) as never;

function view(messages: ChatMessage[], c: Conversation = conversation): ConversationView {
  return { conversation: c, messages };
}

function report(stored: ChatMessage, more: Partial<ReplyReport> = {}): ReplyReport {
  return {
    message: stored,
    model: 'qwen2.5-0.5b-instruct',
    prompt_tokens: 100,
    reused_tokens: 0,
    generated_tokens: 12,
    stop: 'end_of_turn',
    dropped_turns: 0,
    lore_entries: 0,
    citations: [],
    ...more,
  };
}

/** A command whose answer the test gives, and the channel it was given. */
interface Held<T> {
  channel: Channel<T>;
  requestId: string;
  finish: (result: { status: 'ok'; data: unknown } | { status: 'error'; error: unknown }) => void;
}

function hold<T>(fn: ReturnType<typeof vi.fn>, requestAt: number, channelAt: number): Held<T>[] {
  const calls: Held<T>[] = [];
  fn.mockImplementation((...args: unknown[]) => {
    return new Promise((resolve) => {
      calls.push({
        channel: args[channelAt] as Channel<T>,
        requestId: args[requestAt] as string,
        finish: resolve as Held<T>['finish'],
      });
    });
  });
  return calls;
}

let sends: Held<ReplyDelta>[];
let regenerations: Held<ReplyDelta>[];
let talks: Held<TalkEvent>[];

beforeEach(() => {
  enterTauri();
  for (const fn of Object.values(mocked)) fn.mockReset();
  clock = 1_700_000_500;
  thread = [greeting, question, answer];
  mocked.listAgents.mockImplementation(() => ok([lena]));
  mocked.getAgent.mockImplementation(() => ok({ card: lena, form }));
  mocked.listConversations.mockImplementation(() => ok([conversation, older]));
  mocked.getConversation.mockImplementation((id: string) =>
    id === 'c1' ? ok(view(thread)) : fail('not_found', `no conversation ${id}`),
  );
  mocked.messageVersions.mockImplementation(() => ok([]));
  mocked.cancelJob.mockResolvedValue(true);
  mocked.talkControl.mockImplementation(() => ok(null));
  mocked.soundDevices.mockImplementation(() =>
    ok([
      { id: 'default', name: 'Built-in microphone', input: true, output: false, default_input: true, default_output: false, sample_rate: 48000 },
      { id: 'spk', name: 'Speakers', input: false, output: true, default_input: false, default_output: true, sample_rate: 48000 },
    ]),
  );
  sends = hold<ReplyDelta>(mocked.sendMessage, 2, 3);
  regenerations = hold<ReplyDelta>(mocked.regenerate, 1, 2);
  talks = hold<TalkEvent>(mocked.startTalk, 2, 3);
  window.localStorage.clear();
});

afterEach(() => {
  document.body.innerHTML = '';
  toasts.clear();
});

function open(route: Route = { name: 'chat', agent: 'lena', conversation: 'c1' }) {
  return render(Chat, { props: { route } });
}

async function openThread() {
  const result = open();
  await screen.findByText('A verb is a word for an action.');
  return result;
}

const messages = () => within(screen.getByTestId('message-list')).getAllByTestId('message');
const composer = () => screen.getByRole('textbox', { name: 'Message to Lena' });

describe('choosing an agent and a conversation', () => {
  it('points to the Library when there are no agents', async () => {
    mocked.listAgents.mockImplementation(() => ok([]));
    open({ name: 'chat' });
    expect(await screen.findByRole('heading', { name: 'No agents yet' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Open the Library' })).toHaveAttribute('href', '#/library');
  });

  it('offers every agent and the latest conversations when none is chosen', async () => {
    open({ name: 'chat' });
    const picker = await screen.findByTestId('agent-picker');
    expect(within(picker).getByRole('link', { name: 'Lena A patient tutor.' })).toHaveAttribute('href', '#/chat/lena');
    expect(mocked.listConversations).toHaveBeenCalledWith(null);
    const recent = within(picker).getByRole('region', { name: 'Recent conversations' });
    expect(within(recent).getAllByRole('link').map((a) => a.getAttribute('href'))).toEqual([
      '#/chat/lena/c1',
      '#/chat/lena/c0',
    ]);
  });

  it('says so when the agent does not exist', async () => {
    open({ name: 'chat', agent: 'ghost' });
    expect(await screen.findByRole('heading', { name: 'No such agent' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Choose an agent' })).toHaveAttribute('href', '#/chat');
  });

  it('shows what failed, and tries again', async () => {
    mocked.listAgents.mockImplementationOnce(() => fail('storage', 'database is locked'));
    open({ name: 'chat' });
    expect(await screen.findByText('database is locked')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('agent-picker')).toBeInTheDocument();
  });

  it('shows the thread with who wrote what, the reply’s model and speed, and the conversations newest first', async () => {
    await openThread();
    expect(mocked.getConversation).toHaveBeenCalledWith('c1');
    expect(mocked.listConversations).toHaveBeenCalledWith('lena');
    const shown = messages();
    expect(shown.map((m) => m.dataset.role)).toEqual(['assistant', 'user', 'assistant']);
    expect(shown.map((m) => m.dataset.messageId)).toEqual(['g1', 'u1', 'a1']);
    expect(within(shown[1] as HTMLElement).getByText('You')).toBeInTheDocument();
    expect(within(shown[2] as HTMLElement).getByTestId('reply-stats')).toHaveTextContent(
      'qwen2.5-0.5b-instruct · 21.5 tokens/s · first token 250 ms',
    );
    const list = screen.getByRole('navigation', { name: 'Conversations' });
    const links = within(list).getAllByRole('link');
    expect(links.map((a) => a.textContent)).toEqual([
      expect.stringContaining('Lena — morning'),
      expect.stringContaining('Lena — yesterday'),
    ]);
    expect(links[0]).toHaveAttribute('aria-current', 'page');
    expect(links[1]).toHaveAttribute('href', '#/chat/lena/c0');
    // Only the last reply can be regenerated; the last message has nothing after it to branch from.
    expect(within(shown[2] as HTMLElement).getByRole('button', { name: 'Regenerate' })).toBeInTheDocument();
    expect(within(shown[1] as HTMLElement).queryByRole('button', { name: 'Regenerate' })).toBeNull();
    expect(within(shown[2] as HTMLElement).queryByRole('button', { name: 'Branch from here' })).toBeNull();
    expect(within(shown[1] as HTMLElement).getByRole('button', { name: 'Branch from here' })).toBeInTheDocument();
  });

  it('says a conversation that is gone is gone', async () => {
    open({ name: 'chat', agent: 'lena', conversation: 'gone' });
    expect(await screen.findByRole('heading', { name: 'Not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Start a new conversation' })).toHaveAttribute('href', '#/chat/lena');
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(mocked.getConversation).toHaveBeenCalledTimes(2);
  });

  it('switches agents from the list', async () => {
    mocked.listAgents.mockImplementation(() => ok([lena, { ...lena, id: 'bram', name: 'Bram' }]));
    await openThread();
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Agent' }), 'bram');
    expect(window.location.hash).toBe('#/chat/bram');
  });
});

describe('sending and streaming', () => {
  it('streams the reply into the thread, then shows the stored one', async () => {
    await openThread();
    await userEvent.type(composer(), 'And a noun?');
    await userEvent.keyboard('{Enter}');
    expect(mocked.sendMessage).toHaveBeenCalledWith('c1', 'And a noun?', expect.any(String), expect.anything());
    expect(composer()).toHaveValue('');
    const held = sends[0] as Held<ReplyDelta>;
    // The message sent, and the reply being written, with Stop instead of Send.
    expect(messages()).toHaveLength(5);
    expect(screen.getByTestId('stop-button')).toHaveAccessibleName('Stop reply');
    expect(screen.queryByTestId('send-button')).toBeNull();
    expect(screen.getByText('Lena is thinking…')).toBeInTheDocument();
    held.channel.onmessage({ text: 'A noun ' });
    held.channel.onmessage({ text: 'names a thing.' });
    const streaming = messages()[4] as HTMLElement;
    expect(streaming).toHaveAttribute('data-streaming', 'true');
    await waitFor(() => expect(streaming).toHaveTextContent('A noun names a thing.'));

    const u2 = message('u2', 'user', 'And a noun?', { parent_id: 'a1' });
    const a2 = message('a2', 'assistant', 'A noun names a thing.', { parent_id: 'u2', model: 'm', timings });
    thread = [greeting, question, answer, u2, a2];
    held.finish({ status: 'ok', data: report(a2, { dropped_turns: 2 }) });
    await waitFor(() => expect(screen.queryByTestId('stop-button')).toBeNull());
    expect(messages().map((m) => m.dataset.messageId)).toEqual(['g1', 'u1', 'a1', 'u2', 'a2']);
    expect(screen.getByTestId('chat-status')).toHaveTextContent('Lena replied.');
    expect(within(messages()[4] as HTMLElement).getByTestId('reply-stats')).toHaveTextContent(
      /^m · 21\.5 tokens\/s · first token 250 ms · 2 early turns left out to fit the context$/,
    );
    expect(screen.getByTestId('send-button')).toBeDisabled();
    expect(mocked.listConversations).toHaveBeenLastCalledWith('lena');
  });

  it('adds a line with Shift+Enter and sends nothing empty', async () => {
    await openThread();
    await userEvent.type(composer(), 'one{Shift>}{Enter}{/Shift}two');
    expect(composer()).toHaveValue('one\ntwo');
    expect(mocked.sendMessage).not.toHaveBeenCalled();
    await userEvent.clear(composer());
    await userEvent.type(composer(), '   {Enter}');
    expect(mocked.sendMessage).not.toHaveBeenCalled();
  });

  it('stops a reply with the button or Esc, and keeps what was written', async () => {
    await openThread();
    await userEvent.type(composer(), 'Tell me more{Enter}');
    const held = sends[0] as Held<ReplyDelta>;
    held.channel.onmessage({ text: 'Well,' });
    await userEvent.keyboard('{Escape}');
    expect(mocked.cancelJob).toHaveBeenCalledWith(held.requestId);
    expect(screen.getByTestId('stop-button')).toHaveTextContent('Stopping…');

    const u2 = message('u2', 'user', 'Tell me more', { parent_id: 'a1' });
    const a2 = message('a2', 'assistant', 'Well,', { parent_id: 'u2', timings: { stop: 'cancelled' } });
    thread = [greeting, question, answer, u2, a2];
    held.finish({ status: 'ok', data: report(a2, { stop: 'cancelled' }) });
    await waitFor(() => expect(screen.getByTestId('send-button')).toBeInTheDocument());
    expect(within(messages()[4] as HTMLElement).getByText('Stopped')).toBeInTheDocument();
    expect(screen.getByTestId('chat-status')).toHaveTextContent('Stopped. Lena’s reply is kept as far as it got.');

    await userEvent.type(composer(), 'Again{Enter}');
    await userEvent.click(screen.getByTestId('stop-button'));
    expect(mocked.cancelJob).toHaveBeenLastCalledWith((sends[1] as Held<ReplyDelta>).requestId);
  });

  it('points to Models when there is no model, and writes the reply on Try again', async () => {
    await openThread();
    await userEvent.type(composer(), 'Hello?{Enter}');
    // The core stored the message, then found no model.
    thread = [greeting, question, answer, message('u2', 'user', 'Hello?', { parent_id: 'a1' })];
    (sends[0] as Held<ReplyDelta>).finish({
      status: 'error',
      error: { code: 'no_model', message: 'no chat model is installed' },
    });
    const notice = await screen.findByTestId('chat-error');
    expect(notice).toHaveAttribute('data-code', 'no_model');
    expect(within(notice).getByText('No model yet')).toBeInTheDocument();
    expect(within(notice).getByRole('link', { name: 'Open Models' })).toHaveAttribute('href', '#/models');
    expect(composer()).toHaveValue('');
    expect(within(messages()[3] as HTMLElement).getByRole('button', { name: 'Get a reply' })).toBeInTheDocument();
    await userEvent.click(within(notice).getByRole('button', { name: 'Try again' }));
    expect(mocked.regenerate).toHaveBeenCalledWith('c1', expect.any(String), expect.anything());
    expect(screen.queryByTestId('chat-error')).toBeNull();
  });

  it('says when the model failed, and gives the text back when nothing was stored', async () => {
    await openThread();
    await userEvent.type(composer(), 'Hello?{Enter}');
    (sends[0] as Held<ReplyDelta>).finish({
      status: 'error',
      error: { code: 'invalid_input', message: 'the conversation is read-only' },
    });
    expect(await screen.findByText('the conversation is read-only')).toBeInTheDocument();
    expect(composer()).toHaveValue('Hello?');

    await userEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByTestId('chat-error')).toBeNull();
    await userEvent.type(composer(), '{Enter}');
    (sends[1] as Held<ReplyDelta>).channel.onmessage({ text: 'Hi' });
    thread = [greeting, question, answer, message('u2', 'user', 'Hello?', { parent_id: 'a1' })];
    (sends[1] as Held<ReplyDelta>).finish({ status: 'error', error: { code: 'model_failed', message: 'out of memory' } });
    const notice = await screen.findByTestId('chat-error');
    expect(within(notice).getByText('The model could not run')).toBeInTheDocument();
    expect(within(notice).getByText('out of memory')).toBeInTheDocument();
  });

  it('starts a new conversation with the greeting chosen, on the first message', async () => {
    const started: Conversation = { ...conversation, id: 'c2', title: 'Lena — now', head_id: 'g2' };
    mocked.startConversation.mockImplementation(() => ok(started));
    const alt = message('g2', 'assistant', '*Lena looks up from her book.*');
    mocked.getConversation.mockImplementation((id: string) => (id === 'c2' ? ok(view([alt], started)) : ok(view(thread))));
    const { rerender } = open({ name: 'chat', agent: 'lena' });
    const panel = await screen.findByTestId('new-conversation');
    expect(await within(panel).findByTestId('greeting-preview')).toHaveTextContent('Hello User, I am Lena.');
    await userEvent.selectOptions(within(panel).getByRole('combobox', { name: 'Opening message' }), '1');
    expect(within(panel).getByTestId('greeting-preview')).toHaveTextContent('*Lena looks up from her book.*');
    await userEvent.type(composer(), 'Good book?{Enter}');
    await waitFor(() => expect(mocked.startConversation).toHaveBeenCalledWith('lena', null, 1));
    await waitFor(() => expect(mocked.sendMessage).toHaveBeenCalledWith('c2', 'Good book?', expect.any(String), expect.anything()));
    expect(window.location.hash).toBe('#/chat/lena/c2');
    // The shell passes the new route; the thread is already there and is not read again.
    await rerender({ route: { name: 'chat', agent: 'lena', conversation: 'c2' } });
    expect(messages().map((m) => m.dataset.role)).toEqual(['assistant', 'user', 'assistant']);
    expect(messages()[0]).toHaveTextContent('*Lena looks up from her book.*');
    expect(mocked.getConversation).toHaveBeenCalledTimes(1);
  });

  it('starts a conversation with just the greeting', async () => {
    mocked.startConversation.mockImplementation(() => ok({ ...conversation, id: 'c3' }));
    open({ name: 'chat', agent: 'lena' });
    await userEvent.click(await screen.findByTestId('start-conversation'));
    expect(mocked.startConversation).toHaveBeenCalledWith('lena', null, 0);
    await waitFor(() => expect(window.location.hash).toBe('#/chat/lena/c3'));
  });

  it('stops a reply when its conversation is left', async () => {
    const { rerender } = await openThread();
    await userEvent.type(composer(), 'Long story please{Enter}');
    await rerender({ route: { name: 'chat', agent: 'lena', conversation: 'c0' } });
    expect(mocked.cancelJob).toHaveBeenCalledWith((sends[0] as Held<ReplyDelta>).requestId);
  });
});

describe('regenerate, versions, edit, branch, delete', () => {
  it('regenerates the last reply and switches between its versions', async () => {
    await openThread();
    const last = messages()[2] as HTMLElement;
    await userEvent.click(within(last).getByRole('button', { name: 'Regenerate' }));
    expect(mocked.regenerate).toHaveBeenCalledWith('c1', expect.any(String), expect.anything());
    // The old reply makes way for the new one while it is written.
    expect(messages().map((m) => m.dataset.messageId ?? 'streaming')).toEqual(['g1', 'u1', 'streaming']);
    const held = regenerations[0] as Held<ReplyDelta>;
    held.channel.onmessage({ text: 'Verbs are doing words.' });
    await screen.findByText('Verbs are doing words.');

    const again = message('a1b', 'assistant', 'Verbs are doing words.', { parent_id: 'u1', timings });
    thread = [greeting, question, again];
    mocked.messageVersions.mockImplementation((_c: string, id: string) =>
      id === 'a1' || id === 'a1b' ? ok([answer, again]) : ok([]),
    );
    held.finish({ status: 'ok', data: report(again) });
    const reply = await waitFor(() => {
      const m = messages()[2] as HTMLElement;
      expect(within(m).getByTestId('message-version')).toHaveTextContent('Version 2 of 2');
      return m;
    });
    expect(within(reply).getByRole('button', { name: 'Next version' })).toBeDisabled();
    mocked.switchVersion.mockImplementation(() => ok(null));
    thread = [greeting, question, answer];
    await userEvent.click(within(reply).getByRole('button', { name: 'Previous version' }));
    expect(mocked.switchVersion).toHaveBeenCalledWith('c1', 'a1');
    expect(mocked.branchFrom).not.toHaveBeenCalled();
    await screen.findByText('A verb is a word for an action.');
    expect(screen.getByTestId('chat-status')).toHaveTextContent('Version 1 of 2.');
  });

  it('brings a version back with what followed it, as the core has it', async () => {
    // u1 → a1 was answered, then the user edited u1 into u1b, which was answered with a9.
    const edited = message('u1b', 'user', 'What is an adverb?', { parent_id: 'g1' });
    const answered = message('a9', 'assistant', 'It describes a verb.', { parent_id: 'u1b' });
    mocked.messageVersions.mockImplementation((_c: string, id: string) =>
      id === 'u1' || id === 'u1b' ? ok([question, edited]) : ok([]),
    );
    mocked.switchVersion.mockImplementation((_c: string, id: string) => {
      // The core moves the head to the newest message below the version.
      thread = id === 'u1b' ? [greeting, edited, answered] : [greeting, question, answer];
      return ok(null);
    });
    await openThread();
    const first = await waitFor(() => {
      const m = messages()[1] as HTMLElement;
      expect(within(m).getByTestId('message-version')).toHaveTextContent('Version 1 of 2');
      return m;
    });
    await userEvent.click(within(first).getByRole('button', { name: 'Next version' }));
    expect(mocked.switchVersion).toHaveBeenLastCalledWith('c1', 'u1b');
    await screen.findByText('It describes a verb.');
    expect(messages().map((m) => m.dataset.messageId)).toEqual(['g1', 'u1b', 'a9']);
    expect(screen.getByTestId('chat-status')).toHaveTextContent('Version 2 of 2.');
    await userEvent.click(within(messages()[1] as HTMLElement).getByRole('button', { name: 'Previous version' }));
    // The version itself is asked for; its reply a1 comes back with it.
    expect(mocked.switchVersion).toHaveBeenLastCalledWith('c1', 'u1');
    await screen.findByText('A verb is a word for an action.');
    expect(messages().map((m) => m.dataset.messageId)).toEqual(['g1', 'u1', 'a1']);
    expect(mocked.branchFrom).not.toHaveBeenCalled();
  });

  it('says why a version could not be shown, and keeps the thread', async () => {
    const again = message('a1b', 'assistant', 'Verbs are doing words.', { parent_id: 'u1' });
    mocked.messageVersions.mockImplementation((_c: string, id: string) =>
      id === 'a1' ? ok([answer, again]) : ok([]),
    );
    mocked.switchVersion.mockImplementation(() => fail('not_found', 'no message a1b in conversation c1'));
    await openThread();
    const reply = await waitFor(() => {
      const m = messages()[2] as HTMLElement;
      expect(within(m).getByTestId('message-version')).toHaveTextContent('Version 1 of 2');
      return m;
    });
    await userEvent.click(within(reply).getByRole('button', { name: 'Next version' }));
    expect(mocked.switchVersion).toHaveBeenCalledWith('c1', 'a1b');
    expect(await screen.findByText('no message a1b in conversation c1')).toBeInTheDocument();
    expect(messages().map((m) => m.dataset.messageId)).toEqual(['g1', 'u1', 'a1']);
  });

  it('edits a message of the user’s and answers it again', async () => {
    mocked.editMessage.mockImplementation(() => ok(message('u1b', 'user', 'What is an adverb?')));
    await openThread();
    const mine = messages()[1] as HTMLElement;
    await userEvent.click(within(mine).getByRole('button', { name: 'Edit message' }));
    const field = within(mine).getByRole('textbox', { name: 'Edit your message' });
    expect(field).toHaveFocus();
    await userEvent.clear(field);
    await userEvent.type(field, 'What is an adverb?');
    const edited = message('u1b', 'user', 'What is an adverb?', { parent_id: 'g1' });
    thread = [greeting, edited];
    await userEvent.click(within(mine).getByRole('button', { name: 'Save and reply' }));
    expect(mocked.editMessage).toHaveBeenCalledWith('c1', 'u1', 'What is an adverb?');
    await waitFor(() => expect(mocked.regenerate).toHaveBeenCalledWith('c1', expect.any(String), expect.anything()));
    expect(messages().map((m) => m.dataset.messageId ?? 'streaming')).toEqual(['g1', 'u1b', 'streaming']);
  });

  it('edits a reply without answering, and Esc cancels an edit', async () => {
    mocked.editMessage.mockImplementation(() => ok(message('a1b', 'assistant', 'Fixed.')));
    await openThread();
    const reply = messages()[2] as HTMLElement;
    await userEvent.click(within(reply).getByRole('button', { name: 'Edit reply' }));
    await userEvent.keyboard('{Escape}');
    expect(within(reply).queryByRole('textbox')).toBeNull();
    expect(within(reply).getByRole('button', { name: 'Edit reply' })).toHaveFocus();
    await userEvent.click(within(reply).getByRole('button', { name: 'Edit reply' }));
    const field = within(reply).getByRole('textbox', { name: 'Edit Lena’s reply' });
    await userEvent.clear(field);
    await userEvent.type(field, 'Fixed.');
    thread = [greeting, question, message('a1b', 'assistant', 'Fixed.', { parent_id: 'u1' })];
    await userEvent.keyboard('{Control>}{Enter}{/Control}');
    expect(mocked.editMessage).toHaveBeenCalledWith('c1', 'a1', 'Fixed.');
    await screen.findByText('Fixed.');
    expect(mocked.regenerate).not.toHaveBeenCalled();
  });

  it('branches from an earlier message', async () => {
    mocked.branchFrom.mockImplementation(() => ok(null));
    await openThread();
    thread = [greeting];
    await userEvent.click(within(messages()[0] as HTMLElement).getByRole('button', { name: 'Branch from here' }));
    expect(mocked.branchFrom).toHaveBeenCalledWith('c1', 'g1');
    await waitFor(() => expect(messages()).toHaveLength(1));
    expect(screen.getByTestId('chat-status')).toHaveTextContent(/Branched/);
    expect(composer()).toHaveFocus();
  });

  it('deletes a message and what follows it, after asking', async () => {
    mocked.deleteMessage.mockImplementation(() => ok(null));
    await openThread();
    await userEvent.click(within(messages()[1] as HTMLElement).getByRole('button', { name: 'Delete message' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Delete this message?' });
    expect(dialog).toHaveTextContent('This message and the message after it leave the conversation.');
    thread = [greeting];
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    expect(mocked.deleteMessage).toHaveBeenCalledWith('c1', 'u1');
    await waitFor(() => expect(messages()).toHaveLength(1));
  });

  it('disables what would change the thread while a reply is written', async () => {
    await openThread();
    await userEvent.type(composer(), 'Hi{Enter}');
    for (const button of within(messages()[1] as HTMLElement).getAllByRole('button')) expect(button).toBeDisabled();
    expect(screen.getByTestId('mic-button')).toBeDisabled();
    expect(screen.getByTestId('call-button')).toBeDisabled();
  });
});

describe('citations', () => {
  it('lists the sources under a reply, expandable, marking the ones not cited', async () => {
    const cite = (n: number, cited: boolean, more: Partial<Citation> = {}): Citation => ({
      n,
      base: 'handbook',
      document: `doc${n}.pdf`,
      title: null,
      path: `/docs/doc${n}.pdf`,
      location: `page ${n + 3}`,
      page: n + 3,
      section: null,
      chunk_id: n * 10,
      ord: n,
      excerpt: `Passage ${n}.`,
      scores: { bm25: 3, bm25_rank: n, vector: 0.7, vector_rank: n, fused: 0.03 },
      cited,
      ...more,
    });
    thread = [
      greeting,
      question,
      { ...answer, citations: [cite(1, true, { title: 'Grammar basics' }), cite(2, false)] as never },
    ];
    await openThread();
    const sources = within(messages()[2] as HTMLElement).getByTestId('citations');
    const toggle = within(sources).getByRole('button', { name: 'Sources (2)' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await userEvent.click(toggle);
    const first = within(sources).getByRole('button', { name: /\[1\] Grammar basics · page 4/ });
    expect(within(sources).getByRole('button', { name: /\[2\] doc2\.pdf · page 5 not cited/ })).toBeInTheDocument();
    expect(within(sources).getByText('Passage 1.')).not.toBeVisible();
    await userEvent.click(first);
    expect(within(sources).getByText(/Knowledge base “handbook” · doc1\.pdf · \/docs\/doc1\.pdf/)).toBeVisible();
    // The start of the passage, under where it came from.
    expect(within(sources).getByText('Passage 1.')).toBeVisible();
    expect(within(sources).getByText('Passage 2.')).not.toBeVisible();
  });
});

describe('voice', () => {
  const stages = { speech_s: 1.5, stt_ms: 380, first_token_ms: 240, first_audio_ms: 900, reply_ms: 1800, total_ms: 4200 };

  it('talks while the microphone button is held', async () => {
    const user = userEvent.setup();
    await openThread();
    const mic = screen.getByTestId('mic-button');
    expect(mic).toHaveAccessibleName('Hold to talk');
    await fireEvent.pointerDown(mic, { button: 0, pointerId: 1 });
    expect(mocked.startTalk).toHaveBeenCalledWith(
      'lena',
      { mode: 'push_to_talk', microphone: null, speaker: null, barge_in: true, conversation: 'c1' },
      expect.any(String),
      expect.anything(),
    );
    const talk = talks[0] as Held<TalkEvent>;
    const panel = await screen.findByTestId('voice-panel');
    expect(within(panel).getByRole('status')).toHaveTextContent('Getting the microphone and Lena’s voice ready…');
    expect(mic).toHaveAttribute('aria-pressed', 'true');
    talk.channel.onmessage({ event: 'ready', conversation_id: 'c1', voice: { engine: 'default', note: null } });
    await waitFor(() => expect(mocked.talkControl).toHaveBeenCalledWith(talk.requestId, 'press'));
    talk.channel.onmessage({ event: 'level', db: -18 });
    talk.channel.onmessage({ event: 'speech_started' });
    talk.channel.onmessage({ event: 'partial', text: 'how do' });
    expect(await within(panel).findByTestId('live-transcript')).toHaveTextContent('You how do');
    expect(within(panel).getByRole('meter', { name: 'Your microphone level' })).toHaveAttribute('aria-valuenow', '-18');
    // While a spoken turn is under way, typing waits.
    expect(screen.getByTestId('send-button')).toBeDisabled();
    await fireEvent.pointerUp(mic, { button: 0, pointerId: 1 });
    await fireEvent.click(mic);
    expect(mocked.talkControl).toHaveBeenLastCalledWith(talk.requestId, 'release');
    expect(mocked.talkControl).toHaveBeenCalledTimes(2);
    expect(within(panel).getByRole('status')).toHaveTextContent('Writing down what you said…');

    talk.channel.onmessage({ event: 'heard', text: 'How do I conjugate?' });
    talk.channel.onmessage({ event: 'reply', delta: 'Start with ' });
    talk.channel.onmessage({ event: 'speaking' });
    expect(await within(panel).findByTestId('speaking-indicator')).toBeInTheDocument();
    expect(within(panel).getByRole('status')).toHaveTextContent('Lena is speaking.');
    await waitFor(() => expect(within(panel).getByTestId('live-reply')).toHaveTextContent('Start with'));
    mocked.getConversation.mockClear();
    talk.channel.onmessage({ event: 'turn_done', message_id: 'a7', reply: 'Start with the verb.', stages, interrupted: false });
    await waitFor(() => expect(mocked.getConversation).toHaveBeenCalledWith('c1'));
    expect(within(panel).getByTestId('turn-latency')).toHaveTextContent(
      'Last turn: heard in 380 ms · first token 240 ms · first audio 900 ms · turn 4.2 s',
    );
    expect(within(panel).queryByTestId('speaking-indicator')).toBeNull();

    // Space works too now, outside text fields.
    await user.click(screen.getByRole('heading', { name: 'Lena' }));
    await user.keyboard('[Space>]');
    expect(mocked.talkControl).toHaveBeenLastCalledWith(talk.requestId, 'press');
    await user.keyboard('[/Space]');
    expect(mocked.talkControl).toHaveBeenLastCalledWith(talk.requestId, 'release');

    await userEvent.click(within(panel).getByRole('button', { name: 'Turn off microphone' }));
    expect(mocked.talkControl).toHaveBeenLastCalledWith(talk.requestId, 'stop');
    talk.finish({ status: 'ok', data: { conversation_id: 'c1', turns: 2, interrupted: 0, dropped_blocks: 0 } });
    await waitFor(() => expect(screen.queryByTestId('voice-panel')).toBeNull());
    expect(screen.getByTestId('chat-status')).toHaveTextContent('Push-to-talk is off: 2 turns.');
  });

  it('holds to talk with Space on the microphone button', async () => {
    const user = userEvent.setup();
    await openThread();
    screen.getByTestId('mic-button').focus();
    await user.keyboard('[Space>]');
    expect(mocked.startTalk).toHaveBeenCalledOnce();
    const talk = talks[0] as Held<TalkEvent>;
    talk.channel.onmessage({ event: 'ready', conversation_id: 'c1', voice: { engine: 'default' } });
    await waitFor(() => expect(mocked.talkControl).toHaveBeenCalledWith(talk.requestId, 'press'));
    await user.keyboard('[/Space]');
    expect(mocked.talkControl).toHaveBeenLastCalledWith(talk.requestId, 'release');
    // Its click (Space on a button clicks on release) does not press again.
    expect(mocked.talkControl).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId('mic-button')).toHaveAttribute('aria-pressed', 'false');
  });

  it('takes a plain click on the microphone (assistive technology) as press, and the next as release', async () => {
    await openThread();
    const mic = screen.getByTestId('mic-button');
    await fireEvent.click(mic);
    const talk = talks[0] as Held<TalkEvent>;
    talk.channel.onmessage({ event: 'ready', conversation_id: 'c1', voice: { engine: 'default' } });
    await waitFor(() => expect(mocked.talkControl).toHaveBeenCalledWith(talk.requestId, 'press'));
    expect(mic).toHaveAttribute('aria-pressed', 'true');
    await fireEvent.click(mic);
    expect(mocked.talkControl).toHaveBeenLastCalledWith(talk.requestId, 'release');
    expect(mic).toHaveAttribute('aria-pressed', 'false');
  });

  it('calls hands-free: live transcript, the agent speaking, a barge-in, then the end', async () => {
    await openThread();
    await userEvent.click(screen.getByRole('button', { name: 'Voice settings' }));
    const settings = await screen.findByTestId('voice-settings');
    await within(settings).findByRole('combobox', { name: 'Microphone' });
    await userEvent.click(within(settings).getByRole('switch', { name: 'Interrupt by speaking' }));
    await userEvent.click(within(settings).getByRole('switch', { name: 'Interrupt by speaking' }));
    await userEvent.selectOptions(within(settings).getByRole('combobox', { name: 'Speaker' }), 'spk');
    await userEvent.click(screen.getByTestId('call-button'));
    expect(mocked.startTalk).toHaveBeenCalledWith(
      'lena',
      { mode: 'hands_free', microphone: null, speaker: 'spk', barge_in: true, conversation: 'c1' },
      expect.any(String),
      expect.anything(),
    );
    const talk = talks[0] as Held<TalkEvent>;
    const panel = await screen.findByRole('region', { name: 'Call with Lena' });
    expect(screen.getByTestId('call-button')).toHaveAccessibleName('End call');
    expect(composer()).toHaveAccessibleDescription('You are in a call: speak, or end the call to type.');
    talk.channel.onmessage({ event: 'ready', conversation_id: 'c1', voice: { engine: 'default', note: 'the voice model is not installed' } });
    await waitFor(() => expect(within(panel).getByRole('status')).toHaveTextContent('Listening. Just speak.'));
    expect(panel).toHaveTextContent('Speaking with the default voice: the voice model is not installed');
    talk.channel.onmessage({ event: 'speech_started' });
    talk.channel.onmessage({ event: 'heard', text: 'Tell me a story' });
    talk.channel.onmessage({ event: 'reply', delta: 'Once upon a time' });
    talk.channel.onmessage({ event: 'speaking' });
    await within(panel).findByTestId('speaking-indicator');
    expect(within(panel).getByRole('status')).toHaveTextContent('Lena is speaking. Speak to interrupt.');
    talk.channel.onmessage({ event: 'barge_in' });
    talk.channel.onmessage({ event: 'speech_started' });
    expect(await within(panel).findByTestId('barge-in')).toHaveTextContent('You interrupted Lena.');
    expect(within(panel).getByRole('status')).toHaveTextContent('Listening to you…');
    talk.channel.onmessage({ event: 'turn_done', message_id: 'a8', reply: 'Once upon a time', stages, interrupted: true });
    await waitFor(() => expect(within(panel).getByTestId('turn-latency')).toHaveTextContent('(interrupted)'));
    talk.channel.onmessage({ event: 'not_heard' });
    expect(await within(panel).findByText('That was not recognised. Please say it again.')).toBeInTheDocument();

    await userEvent.click(screen.getByTestId('call-button'));
    expect(mocked.talkControl).toHaveBeenCalledWith(talk.requestId, 'stop');
    mocked.getConversation.mockClear();
    talk.finish({ status: 'ok', data: { conversation_id: 'c1', turns: 1, interrupted: 1, dropped_blocks: 0 } });
    await waitFor(() => expect(screen.queryByTestId('voice-panel')).toBeNull());
    expect(mocked.getConversation).toHaveBeenCalledWith('c1');
    expect(toasts.items.map((t) => t.message)).toEqual(['Call ended: 1 turn.']);
  });

  it('says plainly that there is no microphone, and typing keeps working', async () => {
    await openThread();
    await userEvent.click(screen.getByTestId('call-button'));
    (talks[0] as Held<TalkEvent>).finish({
      status: 'error',
      error: { code: 'no_device', message: 'no input device is available' },
    });
    const notice = await screen.findByTestId('voice-error');
    expect(within(notice).getByText('No microphone')).toBeInTheDocument();
    expect(notice).toHaveTextContent('Typing works as always.');
    expect(within(notice).getByRole('link', { name: 'Open Settings' })).toHaveAttribute('href', '#/settings');
    await userEvent.type(composer(), 'Typing then{Enter}');
    expect(mocked.sendMessage).toHaveBeenCalledWith('c1', 'Typing then', expect.any(String), expect.anything());
    await userEvent.click(within(notice).getByRole('button', { name: 'Try again' }));
    expect(mocked.startTalk).toHaveBeenCalledTimes(2);
    expect(mocked.startTalk).toHaveBeenLastCalledWith('lena', expect.objectContaining({ mode: 'hands_free' }), expect.any(String), expect.anything());
  });

  it('opens the conversation a call started, and ends the call when the conversation is left', async () => {
    const started: Conversation = { ...conversation, id: 'c5' };
    mocked.getConversation.mockImplementation((id: string) =>
      id === 'c5' ? ok(view([greeting], started)) : ok(view(thread)),
    );
    const { rerender } = open({ name: 'chat', agent: 'lena' });
    await screen.findByTestId('new-conversation');
    await userEvent.click(screen.getByTestId('call-button'));
    expect(mocked.startTalk).toHaveBeenCalledWith('lena', expect.objectContaining({ conversation: null }), expect.any(String), expect.anything());
    const talk = talks[0] as Held<TalkEvent>;
    talk.channel.onmessage({ event: 'ready', conversation_id: 'c5', voice: { engine: 'default' } });
    await waitFor(() => expect(window.location.hash).toBe('#/chat/lena/c5'));
    await rerender({ route: { name: 'chat', agent: 'lena', conversation: 'c5' } });
    await waitFor(() => expect(mocked.getConversation).toHaveBeenCalledWith('c5'));
    expect(mocked.talkControl).not.toHaveBeenCalled();
    await rerender({ route: { name: 'chat', agent: 'lena', conversation: 'c1' } });
    await waitFor(() => expect(mocked.talkControl).toHaveBeenCalledWith(talk.requestId, 'stop'));
  });
});
