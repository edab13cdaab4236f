import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import DropZone from '../DropZone.svelte';
import { DropRouter } from '../../lib/drop';
import { AppError } from '../../lib/ipc';
import { toasts } from '../../lib/toasts.svelte';
import { testDropRouter } from '../../test/drop';

function fakeRouter() {
  return testDropRouter(DropRouter);
}

describe('DropZone', () => {
  const filters = [{ name: 'Character cards', extensions: ['png', 'charx', 'json'] }];

  it('is a labelled group with file and folder buttons that give paths', async () => {
    const onpaths = vi.fn();
    const pick = vi.fn(async (o: { directory?: boolean }) => (o.directory ? ['/docs'] : ['/a.png', '/b.json']));
    const { router } = fakeRouter();
    render(DropZone, {
      props: { label: 'Drop documents here', hint: 'Text, Markdown, PDF', folders: true, filters, onpaths, pick, router },
    });
    const group = screen.getByRole('group', { name: 'Drop documents here' });
    expect(group).toHaveAccessibleDescription('Text, Markdown, PDF');
    await userEvent.click(screen.getByRole('button', { name: 'Choose files…' }));
    expect(pick).toHaveBeenLastCalledWith(expect.objectContaining({ directory: false, multiple: true, filters }));
    expect(onpaths).toHaveBeenLastCalledWith(['/a.png', '/b.json']);
    await userEvent.click(screen.getByRole('button', { name: 'Choose a folder…' }));
    expect(onpaths).toHaveBeenLastCalledWith(['/docs']);
  });

  it('ignores a closed dialog', async () => {
    const onpaths = vi.fn();
    render(DropZone, {
      props: { label: 'Drop a recording', multiple: false, onpaths, pick: async () => [], router: fakeRouter().router },
    });
    await userEvent.click(screen.getByRole('button', { name: 'Choose a file…' }));
    expect(onpaths).not.toHaveBeenCalled();
    expect(screen.queryByRole('button', { name: 'Choose a folder…' })).toBeNull();
  });

  it('lights up under a drag and takes the drop', async () => {
    const onpaths = vi.fn();
    const f = fakeRouter();
    render(DropZone, { props: { label: 'Drop character cards here', onpaths, router: f.router, pick: vi.fn() } });
    const group = screen.getByRole('group');
    f.pointAt(group.querySelector('p'));
    f.emit({ type: 'enter', paths: ['/lena.png'], position: { x: 1, y: 1 } });
    await vi.waitFor(() => expect(group).toHaveClass('over'));
    expect(group).toHaveTextContent('Release to add');
    f.emit({ type: 'drop', paths: ['/lena.png'], position: { x: 1, y: 1 } });
    expect(onpaths).toHaveBeenCalledWith(['/lena.png']);
    await vi.waitFor(() => expect(group).not.toHaveClass('over'));
  });

  it('refuses drops while disabled', () => {
    const onpaths = vi.fn();
    const f = fakeRouter();
    render(DropZone, { props: { label: 'Drop', onpaths, disabled: true, router: f.router, pick: vi.fn() } });
    f.pointAt(screen.getByRole('group'));
    f.emit({ type: 'drop', paths: ['/x'], position: { x: 1, y: 1 } });
    expect(onpaths).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Choose files…' })).toBeDisabled();
  });

  it('reports a dialog that could not open', async () => {
    const onerror = vi.fn();
    const pick = vi.fn(async () => {
      throw new AppError('core_unavailable', 'no core');
    });
    const { unmount } = render(DropZone, {
      props: { label: 'Drop', onpaths: vi.fn(), onerror, pick, router: fakeRouter().router },
    });
    await userEvent.click(screen.getByRole('button', { name: 'Choose files…' }));
    expect(onerror).toHaveBeenCalledWith(expect.objectContaining({ code: 'core_unavailable' }));
    unmount();
    toasts.clear();
    render(DropZone, { props: { label: 'Drop', onpaths: vi.fn(), pick, router: fakeRouter().router } });
    await userEvent.click(screen.getByRole('button', { name: 'Choose files…' }));
    expect(toasts.items.at(-1)).toMatchObject({ tone: 'error', message: "The studio's core is not running: no core" });
    toasts.clear();
  });
});
