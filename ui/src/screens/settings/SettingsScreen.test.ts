import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import type { Channel } from '@tauri-apps/api/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, type AgentCard, type DeviceInfo, type IngestProgress, type InstalledModel, type SetupReport } from '../../bindings';
import { enterTauri } from '../../test/tauri';
import SettingsScreen from './SettingsScreen.svelte';
import { StudioSetupRun } from './setup.svelte';

vi.mock('../../bindings', () => ({
  commands: {
    dataFolder: vi.fn(),
    soundDevices: vi.fn(),
    listAgents: vi.fn(),
    listModels: vi.fn(),
    setupStudio: vi.fn(),
  },
  events: {},
}));

const cmd = vi.mocked(commands);

const ok = <T,>(data: T) => Promise.resolve({ status: 'ok' as const, data });
const err = (code: string, message: string) =>
  Promise.resolve({ status: 'error' as const, error: { code, message } as never });

function device(id: string, name: string, over: Partial<DeviceInfo> = {}): DeviceInfo {
  return {
    id,
    name,
    input: false,
    output: false,
    default_input: false,
    default_output: false,
    sample_rate: 48000,
    ...over,
  };
}

const agent = { id: 'lena', name: 'Lena' } as AgentCard;
const model = { id: 'smollm2', arch: 'llama' } as InstalledModel;

beforeEach(() => {
  vi.resetAllMocks();
  enterTauri();
  cmd.dataFolder.mockResolvedValue('/home/me/.local/share/familiar');
  cmd.soundDevices.mockImplementation(() =>
    ok([
      device('default', 'Default', { input: true, output: true, default_input: true, default_output: true }),
      device('hw:CARD=USB,DEV=0', 'USB microphone', { input: true, sample_rate: 44100 }),
    ]),
  );
  cmd.listAgents.mockImplementation(() => ok([agent]));
  cmd.listModels.mockImplementation(() => ok([model]));
});

afterEach(() => {
  document.body.innerHTML = '';
});

function sections(): string[] {
  return Array.from(document.querySelectorAll('.settings > section')).map(
    (s) => s.querySelector('h2')?.textContent?.trim() ?? '',
  );
}

describe('settings', () => {
  it('shows the data folder', async () => {
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    expect(await screen.findByTestId('data-folder')).toHaveTextContent('/home/me/.local/share/familiar');
    expect(screen.getByText(/FAMILIAR_HOME/)).toBeInTheDocument();
  });

  it('lists microphones and speakers with their defaults', async () => {
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    const mics = await screen.findByRole('list', { name: 'Microphones' });
    const speakers = screen.getByRole('list', { name: 'Speakers' });
    const micRows = within(mics).getAllByTestId('device-row');
    expect(micRows.map((r) => r.dataset.device)).toEqual(['default', 'hw:CARD=USB,DEV=0']);
    expect(micRows[0]).toHaveTextContent('Default');
    expect(micRows[1]).toHaveTextContent('USB microphone');
    expect(micRows[1]).toHaveTextContent('44.1 kHz');
    expect(micRows[1]).not.toHaveTextContent('Default');
    expect(within(speakers).getAllByTestId('device-row')).toHaveLength(1);
  });

  it('treats no sound device as a normal state: voice needs them, text chat does not', async () => {
    cmd.soundDevices.mockImplementation(() => ok([]));
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    const note = await screen.findByTestId('no-devices');
    expect(note).toHaveTextContent('Voice needs a microphone and a speaker; text chat works without them.');
    expect(screen.queryByRole('alert')).toBeNull();

    cmd.soundDevices.mockImplementation(() => err('no_device', 'no sound system'));
    await userEvent.click(screen.getByRole('button', { name: 'Look again' }));
    await waitFor(() => expect(cmd.soundDevices).toHaveBeenCalledTimes(2));
    expect(screen.getByTestId('no-devices')).toBeInTheDocument();
  });

  it('says when only a speaker is there', async () => {
    cmd.soundDevices.mockImplementation(() => ok([device('hdmi', 'HDMI', { output: true, default_output: true })]));
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    expect(await screen.findByText(/No microphone: talking to agents needs one/)).toBeInTheDocument();
  });

  it('offers the setup first while the library is empty', async () => {
    cmd.listAgents.mockImplementation(() => ok([]));
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    expect(await screen.findByRole('heading', { name: 'Start with the samples' })).toBeInTheDocument();
    expect(sections()[0]).toBe('Start with the samples');
    expect(screen.getByRole('button', { name: 'Set up the studio' })).toHaveClass('primary');
  });

  it('offers the setup last, quietly, once there are agents and models', async () => {
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    await screen.findByTestId('data-folder');
    await waitFor(() => expect(cmd.listModels).toHaveBeenCalled());
    expect(sections().at(-1)).toBe('Sample agents and bundled models');
    expect(screen.getByRole('button', { name: 'Set up the studio' })).toHaveClass('secondary');
  });
});

describe('the first-run setup', () => {
  it('installs with progress, then says what it installed', async () => {
    cmd.listAgents.mockImplementation(() => ok([]));
    let progress: Channel<IngestProgress> | null = null;
    let finish: (r: { status: 'ok'; data: SetupReport }) => void = () => {};
    cmd.setupStudio.mockImplementation(((ch: Channel<IngestProgress>) => {
      progress = ch;
      return new Promise((r) => (finish = r));
    }) as never);
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    await userEvent.click(await screen.findByTestId('setup-button'));
    expect(cmd.setupStudio).toHaveBeenCalledOnce();
    expect(
      await screen.findByRole('progressbar', { name: 'Installing the sample agents and the bundled models' }),
    ).not.toHaveAttribute('aria-valuenow');

    (progress as unknown as Channel<IngestProgress>).onmessage({
      files_done: 1,
      files_total: 3,
      chunks_done: 120,
      current: 'jargon-a.md',
      eta_seconds: 12,
    });
    const bar = await screen.findByRole('progressbar', { name: 'Indexing the sample knowledge base: jargon-a.md' });
    expect(bar).toHaveAttribute('aria-valuetext', 'file 2 of 3 · 120 passages · 0:12 left');

    cmd.listAgents.mockImplementation(() => ok([agent]));
    finish({
      status: 'ok',
      data: { agents: ['Lena', 'Ada'], models: ['smollm2-135m-instruct-q4_1'], speech: true, voice: true, speaker: false },
    });
    const result = await screen.findByTestId('setup-result');
    expect(result).toHaveTextContent('Done. Your studio is set up.');
    expect(result).toHaveTextContent('installed: Lena, Ada');
    expect(result).toHaveTextContent('installed: smollm2-135m-instruct-q4_1');
    expect(result).toHaveTextContent('Speaker model');
    expect(result).toHaveTextContent('not in this machine’s model cache');
    expect(await screen.findByTestId('setup-models-hint')).toHaveTextContent('the voice models included');
    expect(screen.getByRole('button', { name: 'Run the setup again' })).toBeInTheDocument();
  });

  it('says when everything was already there, and where to get models', async () => {
    cmd.setupStudio.mockImplementation(() =>
      ok({ agents: [], models: [], speech: true, voice: true, speaker: true }),
    );
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    await userEvent.click(await screen.findByTestId('setup-button'));
    const result = await screen.findByTestId('setup-result');
    expect(result).toHaveTextContent('Everything that could be installed was already there.');
    expect(within(result).getByRole('link', { name: 'Models' })).toHaveAttribute('href', '#/models');
    expect(result).not.toHaveTextContent('the voice models included');
  });

  it('without the voice in the model cache, points to the Models screen for it', async () => {
    cmd.setupStudio.mockImplementation(() =>
      ok({ agents: ['Lena'], models: ['smollm2-135m-instruct-q4_1'], speech: true, voice: false, speaker: true }),
    );
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    await userEvent.click(await screen.findByTestId('setup-button'));
    const hint = await screen.findByTestId('setup-models-hint');
    expect(hint).toHaveTextContent('can be downloaded from the catalog in Models, the voice models included.');
    expect(within(hint).getByRole('link', { name: 'Models' })).toHaveAttribute('href', '#/models');
  });

  it('shows a failed setup with its reason and tries again', async () => {
    cmd.setupStudio.mockImplementation(() => err('storage', 'could not write /home/me/.local/share/familiar'));
    render(SettingsScreen, { props: { setup: new StudioSetupRun() } });
    await userEvent.click(await screen.findByTestId('setup-button'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Your data could not be read or written');
    expect(alert).toHaveTextContent('could not write');
    await userEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(cmd.setupStudio).toHaveBeenCalledTimes(2);
  });
});
