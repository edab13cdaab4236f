import { describe, expect, it } from 'vitest';
import { describeError, errorDetails } from './errors';
import { AppError, CORE_ERROR_CODES, toAppError, type AppErrorCode } from './ipc';

const ALL: AppErrorCode[] = [...CORE_ERROR_CODES, 'core_unavailable', 'ipc'];

describe('describeError', () => {
  it('has words for every code', () => {
    for (const code of ALL) {
      const g = describeError({ code });
      expect(g.title.length, code).toBeGreaterThan(0);
      expect(g.body.length, code).toBeGreaterThan(20);
    }
  });

  it('guides to the screen that fixes the problem', () => {
    expect(describeError({ code: 'no_model' }).action).toMatchObject({ kind: 'route', route: { name: 'models' } });
    expect(describeError({ code: 'no_device' }).action).toMatchObject({ kind: 'route', route: { name: 'settings' } });
    expect(describeError({ code: 'chain_unavailable' }).action).toMatchObject({
      kind: 'route',
      route: { name: 'wallet' },
    });
    expect(describeError({ code: 'no_wallet' }).action).toMatchObject({ route: { name: 'wallet' } });
  });

  it('offers to retry what can be retried', () => {
    expect(describeError({ code: 'wrong_passphrase' }).action?.kind).toBe('retry');
    expect(describeError({ code: 'download_interrupted' }).action?.kind).toBe('retry');
    expect(describeError({ code: 'consent_refused' }).action?.kind).toBe('retry');
  });

  it('keeps a cancel quiet', () => {
    expect(describeError({ code: 'cancelled' }).quiet).toBe(true);
    expect(describeError({ code: 'storage' }).quiet).toBe(false);
  });
});

describe('errorDetails', () => {
  it("shows the core's message and details", () => {
    expect(errorDetails(new AppError('invalid_input', 'data.tags[1]: expected a string'))).toBe(
      'data.tags[1]: expected a string',
    );
    expect(errorDetails(new AppError('storage', 'could not write x', 'disk full'))).toBe('could not write x — disk full');
  });

  it('keeps structured details out of the line, and words in it', () => {
    const refused = toAppError({
      code: 'consent_refused',
      message: 'consent not accepted: the voice does not match the reference',
      details: { transcript: 'hello', reasons: ['the voice does not match the reference'] },
    });
    expect(refused.data).toMatchObject({ transcript: 'hello' });
    expect(errorDetails(refused)).toBe('consent not accepted: the voice does not match the reference');
    const worded = toAppError({ code: 'storage', message: 'could not write x', details: 'disk full' });
    expect(errorDetails(worded)).toBe('could not write x — disk full');
    expect(errorDetails(toAppError({ code: 'storage', message: 'could not write x', details: null }))).toBe('could not write x');
  });

    it('hides it where the guidance says all', () => {
    expect(errorDetails(new AppError('core_unavailable', 'not in tauri'))).toBeUndefined();
    expect(errorDetails(new AppError('wrong_passphrase', 'mac mismatch'))).toBeUndefined();
    expect(errorDetails(new AppError('ipc', '  '))).toBeUndefined();
  });
});
