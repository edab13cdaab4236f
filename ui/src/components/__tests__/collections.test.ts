import { fireEvent, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import Avatar from '../Avatar.svelte';
import Card from '../Card.svelte';
import ListBox from '../ListBox.svelte';
import Tabs from '../Tabs.svelte';
import { html, html1 } from '../../test/snippets.svelte';

describe('Tabs', () => {
  const tabs = [
    { id: 'persona', label: 'Persona' },
    { id: 'voice', label: 'Voice', badge: 'new' },
    { id: 'market', label: 'Market', disabled: true },
    { id: 'history', label: 'History' },
  ];

  function setup() {
    const onchange = vi.fn();
    render(Tabs, {
      props: {
        tabs,
        selected: 'persona',
        label: 'Agent editor sections',
        onchange,
        panel: html1<string>((id) => `<p>Panel ${id}</p>`),
      },
    });
    return { onchange };
  }

  it('follows the tabs pattern', () => {
    setup();
    expect(screen.getByRole('tablist', { name: 'Agent editor sections' })).toBeInTheDocument();
    const persona = screen.getByRole('tab', { name: 'Persona' });
    expect(persona).toHaveAttribute('aria-selected', 'true');
    expect(persona).toHaveAttribute('tabindex', '0');
    expect(screen.getByRole('tab', { name: 'Voice (new)' })).toHaveAttribute('tabindex', '-1');
    const panel = screen.getByRole('tabpanel');
    expect(panel).toHaveAccessibleName('Persona');
    expect(persona).toHaveAttribute('aria-controls', panel.id);
    expect(panel).toHaveTextContent('Panel persona');
  });

  it('moves with arrows, skipping disabled tabs and wrapping; Home and End jump', async () => {
    const { onchange } = setup();
    screen.getByRole('tab', { name: 'Persona' }).focus();
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByRole('tab', { name: 'Voice (new)' })).toHaveFocus();
    expect(screen.getByRole('tabpanel')).toHaveTextContent('Panel voice');
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByRole('tab', { name: 'History' })).toHaveFocus();
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByRole('tab', { name: 'Persona' })).toHaveFocus();
    await userEvent.keyboard('{ArrowLeft}');
    expect(screen.getByRole('tab', { name: 'History' })).toHaveFocus();
    await userEvent.keyboard('{Home}');
    expect(screen.getByRole('tab', { name: 'Persona' })).toHaveFocus();
    await userEvent.keyboard('{End}');
    expect(screen.getByRole('tab', { name: 'History' })).toHaveFocus();
    expect(onchange.mock.calls.map((c) => c[0])).toEqual(['voice', 'history', 'persona', 'history', 'persona', 'history']);
  });

  it('selects on click', async () => {
    const { onchange } = setup();
    await userEvent.click(screen.getByRole('tab', { name: 'Voice (new)' }));
    expect(onchange).toHaveBeenCalledWith('voice');
    expect(screen.getByRole('tab', { name: 'Voice (new)' })).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByRole('tab', { name: 'Market' })).toBeDisabled();
  });
});

describe('Avatar', () => {
  it('shows initials when there is no picture', () => {
    const { container } = render(Avatar, { props: { name: 'Captain Byte' } });
    expect(container.textContent).toBe('CB');
    expect(container.querySelector('[aria-hidden="true"]')).not.toBeNull();
  });

  it('shows the picture, and falls back to initials if it fails', async () => {
    const { container } = render(Avatar, { props: { name: 'Lena', src: 'asset://lena.png', described: true } });
    const img = screen.getByRole('img', { name: "Lena's picture" });
    await fireEvent.error(img);
    expect(screen.getByRole('img', { name: 'Lena' })).toHaveTextContent('L');
    expect(container.querySelector('img')).toBeNull();
  });

  it('is sized and coloured by name, the same each time', () => {
    const a = render(Avatar, { props: { name: 'Ada', size: 64 } }).container.firstElementChild as HTMLElement;
    const b = render(Avatar, { props: { name: 'Ada' } }).container.firstElementChild as HTMLElement;
    expect(a.style.width).toBe('64px');
    expect(a.className.match(/hue-\d/)?.[0]).toBe(b.className.match(/hue-\d/)?.[0]);
  });
});

describe('Card', () => {
  it('is an article with a heading link and separate actions', async () => {
    const exported = vi.fn();
    render(Card, {
      props: {
        title: 'Lena',
        subtitle: 'SmolLM2 · 3 greetings',
        href: '#/agents/lena',
        avatar: { name: 'Lena' },
        current: true,
        children: html('<p>A patient tutor.</p>'),
        actions: html('<button type="button">Export</button>'),
      },
    });
    const article = screen.getByRole('article');
    expect(screen.getByRole('heading', { level: 3, name: 'Lena' })).toBeInTheDocument();
    const link = screen.getByRole('link', { name: 'Lena' });
    expect(link).toHaveAttribute('href', '#/agents/lena');
    expect(link).toHaveAttribute('aria-current', 'page');
    expect(article).toHaveTextContent('SmolLM2 · 3 greetings');
    expect(article).toHaveTextContent('A patient tutor.');
    const button = screen.getByRole('button', { name: 'Export' });
    button.addEventListener('click', exported);
    await userEvent.click(button);
    expect(exported).toHaveBeenCalledOnce();
  });

  it('has a plain heading without href', () => {
    render(Card, { props: { title: 'Ada', headingLevel: 2 } });
    expect(screen.getByRole('heading', { level: 2, name: 'Ada' })).toBeInTheDocument();
    expect(screen.queryByRole('link')).toBeNull();
  });
});

describe('ListBox', () => {
  const agents = [
    { id: 'a1', name: 'Ada' },
    { id: 'c1', name: 'Captain Byte' },
    { id: 'l1', name: 'Lena' },
    { id: 'l2', name: 'Leo' },
  ];

  function setup(selected: string | null = null) {
    const onselect = vi.fn();
    const onactivate = vi.fn();
    render(ListBox<{ id: string; name: string }>, {
      props: {
        items: agents,
        key: (a: { id: string }) => a.id,
        text: (a: { name: string }) => a.name,
        label: 'Agents',
        selected,
        onselect,
        onactivate,
      },
    });
    const list = screen.getByRole('listbox', { name: 'Agents' });
    const selectedName = () => screen.getAllByRole('option').find((o) => o.getAttribute('aria-selected') === 'true')?.textContent?.trim();
    return { onselect, onactivate, list, selectedName };
  }

  it('selects the first item on focus and moves with the keyboard', async () => {
    const { list, selectedName, onselect } = setup();
    await userEvent.tab();
    expect(list).toHaveFocus();
    expect(selectedName()).toBe('Ada');
    await userEvent.keyboard('{ArrowDown}{ArrowDown}');
    expect(selectedName()).toBe('Lena');
    const active = list.getAttribute('aria-activedescendant');
    expect(active && document.getElementById(active)).toHaveTextContent('Lena');
    await userEvent.keyboard('{End}');
    expect(selectedName()).toBe('Leo');
    await userEvent.keyboard('{Home}');
    expect(selectedName()).toBe('Ada');
    expect(onselect.mock.calls.map((c) => c[0].name)).toEqual(['Ada', 'Captain Byte', 'Lena', 'Leo', 'Ada']);
  });

  it('jumps by typing and activates with Enter', async () => {
    const { list, selectedName, onactivate } = setup('a1');
    list.focus();
    await userEvent.keyboard('c');
    expect(selectedName()).toBe('Captain Byte');
    await userEvent.keyboard('{Enter}');
    expect(onactivate).toHaveBeenCalledWith(agents[1]);
  });

  it('selects on click and activates on double click', async () => {
    const { selectedName, onactivate } = setup();
    await userEvent.click(screen.getByRole('option', { name: 'Leo' }));
    expect(selectedName()).toBe('Leo');
    await userEvent.dblClick(screen.getByRole('option', { name: 'Lena' }));
    expect(onactivate).toHaveBeenCalledWith(agents[2]);
  });

  it('says when it is empty', () => {
    render(ListBox<string>, {
      props: { items: [], key: (s: string) => s, text: (s: string) => s, label: 'Agents', empty: 'No agents yet' },
    });
    expect(screen.getByRole('status')).toHaveTextContent('No agents yet');
  });
});
