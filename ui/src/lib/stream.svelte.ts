/**
 * Streamed text (a reply's tokens, a live transcript) arrives as many small
 * deltas, sometimes hundreds a second. {@link TextStream} collects them and
 * updates what is shown at most once per animation frame.
 */

type Schedule = (callback: () => void) => number;
type Cancel = (handle: number) => void;

const frame: Schedule = (cb) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => cb()) : (setTimeout(cb, 16) as unknown as number);
const cancelFrame: Cancel = (handle) =>
  typeof cancelAnimationFrame === 'function' ? cancelAnimationFrame(handle) : clearTimeout(handle);

/** Joins pushed deltas and hands them to `onflush` once per scheduled tick. */
export class DeltaBuffer {
  #pending = '';
  #handle: number | null = null;
  readonly #onflush: (text: string) => void;
  readonly #schedule: Schedule;
  readonly #cancel: Cancel;

  constructor(onflush: (text: string) => void, schedule: Schedule = frame, cancel: Cancel = cancelFrame) {
    this.#onflush = onflush;
    this.#schedule = schedule;
    this.#cancel = cancel;
  }

  push(delta: string): void {
    if (delta === '') return;
    this.#pending += delta;
    this.#handle ??= this.#schedule(() => {
      this.#handle = null;
      this.flush();
    });
  }

  /** Hands over what is pending now. */
  flush(): void {
    if (this.#handle !== null) {
      this.#cancel(this.#handle);
      this.#handle = null;
    }
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#onflush(text);
  }

  /** Drops what is pending. */
  discard(): void {
    if (this.#handle !== null) this.#cancel(this.#handle);
    this.#handle = null;
    this.#pending = '';
  }
}

/** The text of one stream, reactive, and whether it is still coming. */
export class TextStream {
  text = $state('');
  streaming = $state(false);
  readonly #buffer: DeltaBuffer;

  constructor(schedule?: Schedule, cancel?: Cancel) {
    this.#buffer = new DeltaBuffer((chunk) => (this.text += chunk), schedule, cancel);
  }

  /** Starts over with `initial` (the part already stored, for a continued reply). */
  start(initial = ''): void {
    this.#buffer.discard();
    this.text = initial;
    this.streaming = true;
  }

  append(delta: string): void {
    this.#buffer.push(delta);
  }

  /** The stream ended (finished, stopped or failed): show everything received. */
  finish(): void {
    this.#buffer.flush();
    this.streaming = false;
  }

  /** Replaces the whole text at once (a final transcript), ending the stream. */
  set(text: string): void {
    this.#buffer.discard();
    this.text = text;
    this.streaming = false;
  }
}
