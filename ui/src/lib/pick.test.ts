import { describe, expect, it } from 'vitest';
import { pickPaths, pickSavePath } from './pick';
import { enterTauri } from '../test/tauri';

describe('pickPaths', () => {
  it('needs the core', async () => {
    await expect(pickPaths()).rejects.toMatchObject({ code: 'core_unavailable' });
    await expect(pickSavePath()).rejects.toMatchObject({ code: 'core_unavailable' });
  });

  it('asks the dialog plugin and always gives a list', async () => {
    const internals = enterTauri();
    internals.invoke.mockResolvedValueOnce(['/a.png', '/b.charx']);
    expect(
      await pickPaths({ multiple: true, filters: [{ name: 'Cards', extensions: ['png', 'charx'] }] }),
    ).toEqual(['/a.png', '/b.charx']);
    const [cmd, args] = internals.invoke.mock.calls[0] ?? [];
    expect(cmd).toBe('plugin:dialog|open');
    expect(args).toMatchObject({ options: { multiple: true, directory: false } });

    internals.invoke.mockResolvedValueOnce('/docs');
    expect(await pickPaths({ directory: true })).toEqual(['/docs']);
    internals.invoke.mockResolvedValueOnce(null);
    expect(await pickPaths()).toEqual([]);
  });

  it('types failures', async () => {
    const internals = enterTauri();
    internals.invoke.mockRejectedValueOnce('dialog.open not allowed');
    await expect(pickPaths()).rejects.toMatchObject({ code: 'ipc', message: 'dialog.open not allowed' });
    internals.invoke.mockResolvedValueOnce('/out/lena.png');
    expect(await pickSavePath({ defaultPath: 'lena.png' })).toBe('/out/lena.png');
  });
});
