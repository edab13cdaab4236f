import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AppError,
  CORE_ERROR_CODES,
  attempt,
  call,
  channel,
  isAppError,
  isIpcError,
  isTauri,
  listenSafely,
  toAppError,
  unwrap,
  type IpcResult,
} from './ipc';
import { enterTauri, leaveTauri } from '../test/tauri';

afterEach(leaveTauri);

describe('isTauri', () => {
  it('is false in a plain browser', () => {
    expect(isTauri()).toBe(false);
    expect(isTauri({})).toBe(false);
    expect(isTauri({ __TAURI_INTERNALS__: undefined })).toBe(false);
  });

  it('is true when Tauri injected its internals', () => {
    expect(isTauri({ __TAURI_INTERNALS__: {} })).toBe(true);
    enterTauri();
    expect(isTauri()).toBe(true);
  });
});

describe('toAppError', () => {
  it('keeps the structured details the core attaches, as data', () => {
    const report = { checks: [{ name: 'noise', passed: false, fix: 'record in a quieter place' }] };
    const error = toAppError({ code: 'invalid_input', message: 'cannot become a voice profile', details: report });
    expect(error.code).toBe('invalid_input');
    expect(error.data).toEqual(report);
    expect(error.details).toBeUndefined();
  });

  it('keeps the code, message and details of the shell error', () => {
    const e = toAppError({ code: 'wrong_passphrase', message: 'could not unlock the wallet', details: 'mac mismatch' });
    expect(e).toBeInstanceOf(AppError);
    expect(e.code).toBe('wrong_passphrase');
    expect(e.message).toBe('could not unlock the wallet');
    expect(e.details).toBe('mac mismatch');
  });

  it('treats null details as none', () => {
    expect(toAppError({ code: 'no_model', message: 'no model installed', details: null }).details).toBeUndefined();
  });

  it("turns Tauri's own string rejections into ipc errors", () => {
    const e = toAppError('invalid args `agent` for command `show_agent`: missing field');
    expect(e.code).toBe('ipc');
    expect(e.message).toContain('invalid args');
  });

  it('turns thrown Errors into ipc errors with the cause kept', () => {
    const cause = new TypeError('x is undefined');
    const e = toAppError(cause);
    expect(e.code).toBe('ipc');
    expect(e.cause).toBe(cause);
  });

  it('does not trust an unknown code', () => {
    const e = toAppError({ code: 'something_new', message: 'what happened' });
    expect(e.code).toBe('ipc');
    expect(e.message).toBe('what happened');
    expect(e.details).toBe('unknown error code something_new');
  });

  it('copes with values of no known shape', () => {
    expect(toAppError({ weird: 1 }).message).toBe('{"weird":1}');
    expect(toAppError(42).message).toBe('42');
    expect(toAppError(undefined).code).toBe('ipc');
  });

  it('returns AppErrors unchanged', () => {
    const e = new AppError('no_device', 'no microphone');
    expect(toAppError(e)).toBe(e);
  });
});

describe('isIpcError / isAppError', () => {
  it('checks the shape and the code list', () => {
    expect(isIpcError({ code: 'storage', message: 'disk full' })).toBe(true);
    expect(isIpcError({ code: 'storage' })).toBe(false);
    expect(isIpcError({ code: 'nope', message: 'm' })).toBe(false);
    expect(isIpcError('storage')).toBe(false);
    expect(isIpcError(null)).toBe(false);
  });

  it('matches codes', () => {
    const e = new AppError('chain_unavailable', 'the chain is not running');
    expect(isAppError(e)).toBe(true);
    expect(isAppError(e, 'chain_unavailable', 'no_wallet')).toBe(true);
    expect(isAppError(e, 'no_wallet')).toBe(false);
    expect(isAppError(new Error('x'))).toBe(false);
  });
});

describe('unwrap', () => {
  it('returns the data of an ok result', () => {
    expect(unwrap({ status: 'ok', data: [1, 2] })).toEqual([1, 2]);
  });

  it('throws an AppError for an error result', () => {
    const result: IpcResult<number> = { status: 'error', error: { code: 'not_found', message: 'no agent named x' } };
    expect(() => unwrap(result)).toThrowError(AppError);
    try {
      unwrap(result);
    } catch (e) {
      expect(isAppError(e, 'not_found')).toBe(true);
    }
  });
});

describe('call', () => {
  it('does not run the command outside Tauri', async () => {
    const command = vi.fn(async (): Promise<IpcResult<number>> => ({ status: 'ok', data: 1 }));
    await expect(call(command)).rejects.toMatchObject({ code: 'core_unavailable' });
    expect(command).not.toHaveBeenCalled();
  });

  it('unwraps ok results inside Tauri', async () => {
    enterTauri();
    await expect(call(async () => ({ status: 'ok', data: 'lena' }) as IpcResult<string>)).resolves.toBe('lena');
  });

  it('throws the typed error of an error result', async () => {
    enterTauri();
    const failing = async (): Promise<IpcResult<string>> => ({
      status: 'error',
      error: { code: 'no_model', message: 'no model is installed' },
    });
    await expect(call(failing)).rejects.toMatchObject({ code: 'no_model', message: 'no model is installed' });
  });

  it('turns a thrown Error (the bindings rethrow those) into an ipc error', async () => {
    enterTauri();
    await expect(
      call(async () => {
        throw new TypeError('cannot read properties of undefined');
      }),
    ).rejects.toMatchObject({ code: 'ipc' });
  });
});

describe('attempt', () => {
  it('gives the value or the error, never throws', async () => {
    expect(await attempt(async () => ({ status: 'ok', data: 1 }) as IpcResult<number>)).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'core_unavailable' }),
    });
    enterTauri();
    expect(await attempt(async () => ({ status: 'ok', data: 1 }) as IpcResult<number>)).toEqual({ ok: true, value: 1 });
    const outcome = await attempt(
      async () => ({ status: 'error', error: { code: 'rejected', message: 'not listed' } }) as IpcResult<number>,
    );
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.code).toBe('rejected');
  });
});

describe('channel', () => {
  it('refuses outside Tauri with the core_unavailable code', () => {
    expect(() => channel(() => {})).toThrowError(expect.objectContaining({ code: 'core_unavailable' }));
  });

  it("delivers a Tauri channel's messages in order", () => {
    const internals = enterTauri();
    const got: number[] = [];
    const ch = channel<number>((n) => got.push(n));
    // Tauri calls the registered callback with { index, message }; indices order the messages.
    const callback = internals.callbacks.get(ch.id);
    expect(callback).toBeDefined();
    callback?.({ index: 1, message: 2 });
    callback?.({ index: 0, message: 1 });
    expect(got).toEqual([1, 2]);
  });
});

describe('listenSafely', () => {
  it('subscribes nothing outside Tauri', async () => {
    const subscribe = vi.fn(async () => () => {});
    const unlisten = await listenSafely(subscribe);
    expect(subscribe).not.toHaveBeenCalled();
    expect(() => unlisten()).not.toThrow();
  });

  it('returns the unlisten function inside Tauri, and types failures', async () => {
    enterTauri();
    const stop = vi.fn();
    expect(await listenSafely(async () => stop)).toBe(stop);
    await expect(listenSafely(async () => Promise.reject('event.listen not allowed'))).rejects.toMatchObject({
      code: 'ipc',
    });
  });
});

describe('CORE_ERROR_CODES', () => {
  const bindings = resolve(import.meta.dirname, '../bindings.ts');
  const api = resolve(import.meta.dirname, '../../../src/api.rs');

  it('has no duplicates', () => {
    expect(new Set(CORE_ERROR_CODES).size).toBe(CORE_ERROR_CODES.length);
  });

  it.skipIf(!existsSync(api))("is familiar::api::ErrorCode's variants, snake_cased, in order", () => {
    const source = readFileSync(api, 'utf8');
    const body = /pub enum ErrorCode \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const variants = [...body.matchAll(/^\s{4}([A-Z][A-Za-z]+),/gm)].map((m) =>
      (m[1] ?? '').replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase(),
    );
    expect(variants).toEqual([...CORE_ERROR_CODES]);
  });

  it.skipIf(!existsSync(bindings))('is the generated ErrorCode union', () => {
    // Doc comments in the union may hold semicolons of their own.
    const source = readFileSync(bindings, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const union = /export type ErrorCode\s*=([^;]+);/.exec(source)?.[1] ?? '';
    const codes = [...union.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(codes.sort()).toEqual([...CORE_ERROR_CODES].sort());
  });
});
