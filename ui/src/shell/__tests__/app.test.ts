import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import App from '../../App.svelte';
import ScreenProbe from '../../test/ScreenProbe.svelte';
import { Router } from '../../lib/router.svelte';
import { toasts } from '../../lib/toasts.svelte';
import { enterTauri } from '../../test/tauri';

beforeEach(() => {
  window.history.replaceState(null, '', '#/library');
});

afterEach(() => {
  document.body.innerHTML = '';
  toasts.clear();
});

function setup(props: Record<string, unknown> = {}) {
  const router = new Router(window);
  const result = render(App, { props: { router, ...props } });
  return { router, ...result };
}

describe('outside Tauri', () => {
  it("shows that the studio's core is not running, on every screen", async () => {
    const { router } = setup();
    expect(screen.getByRole('heading', { level: 1, name: 'Library' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: "The studio's core is not running" })).toBeInTheDocument();
    expect(screen.getByRole('navigation', { name: 'Screens' })).toHaveTextContent('Core not running');
    router.navigate({ name: 'models' });
    expect(await screen.findByRole('heading', { level: 1, name: 'Models' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: "The studio's core is not running" })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Check again' })).toBeInTheDocument();
    expect(document.title).toBe('Models — Familiar');
  });

  it('does not render screens even when they are registered', () => {
    setup({ screens: { library: ScreenProbe } });
    expect(screen.queryByTestId('probe')).toBeNull();
  });
});

describe('inside Tauri', () => {
  beforeEach(() => {
    enterTauri();
  });

  it('renders the screen of the route, with the route', async () => {
    const { router } = setup({ screens: { library: ScreenProbe, editor: ScreenProbe } });
    expect(screen.getByTestId('probe')).toHaveTextContent('{"name":"library"}');
    expect(screen.queryByText('Core not running')).toBeNull();
    router.navigate({ name: 'editor', agent: 'lena', tab: 'voice' });
    await waitFor(() =>
      expect(screen.getByTestId('probe')).toHaveTextContent('{"name":"editor","agent":"lena","tab":"voice"}'),
    );
  });

  it('says so for a screen this build lacks, and for an unknown address', async () => {
    const { router } = setup();
    expect(screen.getByRole('heading', { name: 'Not in this build' })).toBeInTheDocument();
    window.location.hash = '#/nowhere';
    router.start();
    await screen.findByRole('heading', { level: 1, name: 'Not found' });
    expect(screen.getByRole('link', { name: 'Open the Library' })).toHaveAttribute('href', '#/library');
  });
});

describe('sidebar', () => {
  it('lists the screens, marks the current one, and offers the editor once an agent is open', async () => {
    const { router } = setup();
    const nav = screen.getByRole('navigation', { name: 'Screens' });
    const links = within(nav).getAllByRole('link').map((a) => a.textContent?.trim());
    expect(links).toEqual(['Library', 'Chat', 'Marketplace', 'Wallet & network', 'Models', 'Settings']);
    expect(within(nav).getByRole('link', { name: 'Library' })).toHaveAttribute('aria-current', 'page');
    expect(within(nav).getByText('Agent editor').closest('[aria-disabled]')).toHaveAttribute('aria-disabled', 'true');

    router.navigate({ name: 'chat', agent: 'lena' });
    const editor = await within(nav).findByRole('link', { name: 'Agent editor' });
    expect(editor).toHaveAttribute('href', '#/agents/lena');
    expect(within(nav).getByRole('link', { name: 'Chat' })).toHaveAttribute('aria-current', 'page');
    expect(within(nav).getByRole('link', { name: 'Chat' })).toHaveAttribute('href', '#/chat/lena');
  });

  it('moves focus to the new screen heading', async () => {
    const { router } = setup();
    router.navigate({ name: 'wallet' });
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: 'Wallet & network' })).toHaveFocus());
  });

  it('has a skip link to the content', async () => {
    setup();
    await userEvent.tab();
    const skip = screen.getByRole('button', { name: 'Skip to content' });
    expect(skip).toHaveFocus();
    await userEvent.keyboard('{Enter}');
    expect(screen.getByRole('heading', { level: 1 })).toHaveFocus();
  });
});

describe('shortcuts', () => {
  it('Alt+digit opens the n-th screen', async () => {
    const { router } = setup();
    await userEvent.keyboard('{Alt>}4{/Alt}');
    expect(router.route).toEqual({ name: 'market' });
    await userEvent.keyboard('{Alt>}2{/Alt}');
    expect(router.route).toEqual({ name: 'market' });
    await userEvent.keyboard('{Alt>}7{/Alt}');
    expect(router.route).toEqual({ name: 'settings' });
  });

  it('Ctrl+K searches the screens; Enter goes, Esc closes', async () => {
    const { router } = setup();
    await userEvent.keyboard('{Control>}k{/Control}');
    const dialog = await screen.findByRole('dialog', { name: 'Search' });
    const input = within(dialog).getByRole('combobox', { name: 'Search screens and commands' });
    await waitFor(() => expect(input).toHaveFocus());
    expect(within(dialog).getAllByRole('option')).toHaveLength(6);
    await userEvent.type(input, 'wal');
    const options = within(dialog).getAllByRole('option');
    expect(options.map((o) => o.querySelector('.label')?.textContent)).toEqual(['Wallet & network']);
    expect(input.getAttribute('aria-activedescendant')).toBe(options[0]?.id);
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(router.route).toEqual({ name: 'wallet' });
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: 'Wallet & network' })).toHaveFocus());

    await userEvent.keyboard('{Control>}k{/Control}');
    await screen.findByRole('dialog', { name: 'Search' });
    await userEvent.keyboard('{ArrowDown}{ArrowDown}');
    const active = screen.getByRole('combobox').getAttribute('aria-activedescendant');
    expect(active && document.getElementById(active)).toHaveTextContent('Marketplace');
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(router.route).toEqual({ name: 'wallet' });
  });

  it('the palette says when nothing matches, and runs a clicked result', async () => {
    const { router } = setup();
    await userEvent.click(screen.getByRole('button', { name: /Search/ }));
    const input = await screen.findByRole('combobox');
    await userEvent.type(input, 'zzz');
    expect(screen.getByRole('status')).toHaveTextContent('Nothing matches “zzz”.');
    await userEvent.clear(input);
    await userEvent.click(screen.getByRole('option', { name: /Models/ }));
    await waitFor(() => expect(router.route).toEqual({ name: 'models' }));
  });

  it('Ctrl+Z outside text fields runs the newest Undo', async () => {
    setup();
    let undone = 0;
    toasts.show({ message: 'Lena moved to the trash', action: { label: 'Undo', run: () => void undone++ } });
    await screen.findByText('Lena moved to the trash');
    await userEvent.keyboard('{Control>}z{/Control}');
    expect(undone).toBe(1);
    expect(screen.queryByText('Lena moved to the trash')).toBeNull();
  });
});
