import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import Button from '../Button.svelte';
import Select from '../Select.svelte';
import Spinner from '../Spinner.svelte';
import Switch from '../Switch.svelte';
import TextArea from '../TextArea.svelte';
import TextField from '../TextField.svelte';
import { html } from '../../test/snippets.svelte';

describe('Button', () => {
  it('is a button of type button that reports clicks', async () => {
    const onclick = vi.fn();
    render(Button, { props: { onclick, children: html('<span>Export</span>') } });
    const button = screen.getByRole('button', { name: 'Export' });
    expect(button).toHaveAttribute('type', 'button');
    await userEvent.click(button);
    expect(onclick).toHaveBeenCalledOnce();
  });

  it('ignores clicks while busy, but keeps focus', async () => {
    const onclick = vi.fn();
    render(Button, { props: { onclick, busy: true, children: html('<span>Import</span>') } });
    const button = screen.getByRole('button', { name: 'Import' });
    expect(button).toHaveAttribute('aria-busy', 'true');
    expect(button).toHaveAttribute('aria-disabled', 'true');
    expect(button).not.toBeDisabled();
    button.focus();
    expect(button).toHaveFocus();
    await userEvent.click(button);
    expect(onclick).not.toHaveBeenCalled();
  });

  it('names an icon-only button', () => {
    render(Button, { props: { icon: 'close', label: 'Close' } });
    const button = screen.getByRole('button', { name: 'Close' });
    expect(button).toHaveAttribute('title', 'Close');
  });

  it('is a link with href', () => {
    render(Button, { props: { href: '#/models', children: html('<span>Open Models</span>') } });
    expect(screen.getByRole('link', { name: 'Open Models' })).toHaveAttribute('href', '#/models');
  });

  it('can be disabled', () => {
    render(Button, { props: { disabled: true, children: html('<span>Buy</span>') } });
    expect(screen.getByRole('button', { name: 'Buy' })).toBeDisabled();
  });
});

describe('TextField', () => {
  it('is labelled, described by its hint, and typed into', async () => {
    const oninput = vi.fn();
    render(TextField, { props: { label: 'Name', hint: 'Shown on the card', required: true, oninput } });
    const input = screen.getByLabelText(/Name/);
    expect(input).toBeRequired();
    expect(input).toHaveAccessibleDescription('Shown on the card');
    await userEvent.type(input, 'Lena');
    expect(input).toHaveValue('Lena');
    expect(oninput).toHaveBeenCalledTimes(4);
    expect(screen.getByText('(required)')).toBeInTheDocument();
    // A space Svelte keeps (a plain leading one is trimmed): "Name (required)", not "Name(required)".
    expect(screen.getByText('(required)').textContent).toBe('\u00a0(required)');
  });

  it('shows its error and is marked invalid', async () => {
    const { rerender } = render(TextField, { props: { label: 'Passphrase', type: 'password' } });
    const input = screen.getByLabelText('Passphrase');
    expect(input).toHaveAttribute('type', 'password');
    expect(input).not.toHaveAttribute('aria-invalid');
    await rerender({ error: 'Wrong passphrase' });
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveAccessibleDescription('Wrong passphrase');
  });

  it('can hide its label visually', () => {
    render(TextField, { props: { label: 'Search agents', hideLabel: true, type: 'search' } });
    expect(screen.getByRole('searchbox', { name: 'Search agents' })).toBeInTheDocument();
    expect(screen.getByText('Search agents')).toHaveClass('visually-hidden');
  });
});

describe('TextArea', () => {
  it('counts characters against maxlength', async () => {
    render(TextArea, { props: { label: 'First message', maxlength: 20, value: 'Hi' } });
    const area = screen.getByLabelText('First message');
    expect(screen.getByText('2 / 20')).toBeInTheDocument();
    await userEvent.type(area, ' there');
    expect(screen.getByText('8 / 20')).toBeInTheDocument();
    expect(area).toHaveAccessibleDescription('8 / 20');
  });

  it('is described by its hint and its count together, and says when it is required', () => {
    render(TextArea, { props: { label: 'Scenario', hint: 'Where it happens', maxlength: 100, value: 'Sea', required: true } });
    const area = screen.getByLabelText(/Scenario/);
    expect(area).toBeRequired();
    expect(area).toHaveAccessibleDescription('Where it happens 3 / 100');
    expect(screen.getByText('(required)').textContent).toBe('\u00a0(required)');
  });

    it('shows an error', () => {
    render(TextArea, { props: { label: 'Description', error: 'Too long' } });
    expect(screen.getByLabelText('Description')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('Too long')).toBeVisible();
  });
});

describe('Select', () => {
  it('offers its options under a label', async () => {
    const onchange = vi.fn();
    render(Select, {
      props: {
        label: 'Microphone',
        placeholder: 'System default',
        options: [
          { value: 'hw:0', label: 'Built-in' },
          { value: 'usb', label: 'USB headset' },
          { value: 'gone', label: 'Unplugged', disabled: true },
        ],
        onchange,
      },
    });
    const select = screen.getByLabelText('Microphone') as HTMLSelectElement;
    expect(select.value).toBe('');
    expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual([
      'System default',
      'Built-in',
      'USB headset',
      'Unplugged',
    ]);
    await userEvent.selectOptions(select, 'usb');
    expect(select.value).toBe('usb');
    expect(onchange).toHaveBeenCalled();
    expect(screen.getByRole('option', { name: 'Unplugged' })).toBeDisabled();
  });
});

describe('the shared field', () => {
  it('ties a select to its hint and error, and never marks it required in the label', async () => {
    const { rerender } = render(Select, {
      props: { label: 'Speaker', hint: 'Where previews play', options: [{ value: 'spk', label: 'Speakers' }], required: true },
    });
    const select = screen.getByRole('combobox', { name: 'Speaker' });
    expect(select).toHaveAccessibleDescription('Where previews play');
    expect(select).not.toHaveAttribute('aria-invalid');
    expect(screen.queryByText('(required)')).toBeNull();
    await rerender({ error: 'That speaker is gone' });
    expect(select).toHaveAttribute('aria-invalid', 'true');
    expect(select).toHaveAccessibleDescription('Where previews play That speaker is gone');
  });

  it('keeps the class screens give it on the field, and the test id on the control', () => {
    const { container } = render(TextField, { props: { label: 'Search', class: 'search', 'data-testid': 'library-search' } });
    const field = container.querySelector('.field') as HTMLElement;
    expect(field).toHaveClass('search');
    expect(field).not.toHaveAttribute('data-testid');
    expect(screen.getByTestId('library-search').tagName).toBe('INPUT');
    expect(screen.getByText('', { selector: 'p.error' })).not.toBeVisible();
  });
});

describe('Switch', () => {
  it('toggles with click and keyboard', async () => {
    const onchange = vi.fn();
    render(Switch, { props: { label: 'Let me interrupt', hint: 'Needs headphones', onchange } });
    const sw = screen.getByRole('switch', { name: 'Let me interrupt' });
    expect(sw).toHaveAttribute('aria-checked', 'false');
    expect(sw).toHaveAccessibleDescription('Needs headphones');
    await userEvent.click(sw);
    expect(sw).toHaveAttribute('aria-checked', 'true');
    sw.focus();
    await userEvent.keyboard(' ');
    expect(sw).toHaveAttribute('aria-checked', 'false');
    expect(onchange.mock.calls).toEqual([[true], [false]]);
  });
});

describe('Spinner', () => {
  it('announces what is awaited, unless silent', () => {
    const { unmount } = render(Spinner, { props: { label: 'Loading agents' } });
    expect(screen.getByRole('status')).toHaveTextContent('Loading agents');
    unmount();
    render(Spinner, { props: { silent: true } });
    expect(screen.queryByRole('status')).toBeNull();
  });
});
