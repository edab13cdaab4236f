/**
 * Files dropped onto the window, routed to the drop zone under the pointer.
 *
 * Inside Tauri the webview's own drag-and-drop handling (on by default) gives
 * the dropped files' *paths* — what the core's import and knowledge functions
 * take — with the pointer's position in physical pixels; the page's HTML5
 * drop events carry no paths. So drop zones register here, and this router
 * hit-tests each position (`elementFromPoint`) to light up and feed the one
 * under the pointer, or the window-wide one when the pointer is over no zone.
 */
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { isTauri } from './ipc';

export interface Point {
  x: number;
  y: number;
}

/** A drag as the webview reports it (positions in physical pixels). */
export type DropEvent =
  | { type: 'enter'; paths: string[]; position: Point }
  | { type: 'over'; position: Point }
  | { type: 'drop'; paths: string[]; position: Point }
  | { type: 'leave' };

/** Starts delivering drag events; resolves to what stops it. */
export type DropSource = (handler: (event: DropEvent) => void) => Promise<() => void>;

export interface DropTarget {
  /** Files or folders were dropped here. */
  onpaths: (paths: string[]) => void;
  /** A drag entered (true) or left (false) this zone. */
  onhover: (active: boolean) => void;
  /** Takes drops that land outside every zone (one per screen: the Library's import). */
  catchAll?: boolean;
  /** Refuses drops for now (busy, read-only). */
  disabled?: () => boolean;
}

export interface DropRouterOptions {
  /** The element at a point in CSS pixels. */
  hitTest?: (x: number, y: number) => Element | null;
  /** Physical pixels per CSS pixel. */
  scale?: () => number;
}

export class DropRouter {
  readonly #source: DropSource;
  readonly #hitTest: (x: number, y: number) => Element | null;
  readonly #scale: () => number;
  readonly #targets = new Map<Element, DropTarget>();
  #hovered: DropTarget | null = null;
  #stop: Promise<() => void> | null = null;

  constructor(source: DropSource, options: DropRouterOptions = {}) {
    this.#source = source;
    this.#hitTest = options.hitTest ?? ((x, y) => document.elementFromPoint(x, y));
    this.#scale = options.scale ?? (() => window.devicePixelRatio || 1);
  }

  /** Makes `element` a drop zone; returns what removes it. */
  register(element: Element, target: DropTarget): () => void {
    this.#targets.set(element, target);
    this.#stop ??= this.#source((event) => this.handle(event)).catch(() => () => {});
    return () => {
      if (this.#targets.get(element) !== target) return;
      this.#targets.delete(element);
      if (this.#hovered === target) this.#setHovered(null);
      if (this.#targets.size === 0 && this.#stop) {
        const stop = this.#stop;
        this.#stop = null;
        void stop.then((fn) => fn());
      }
    };
  }

  /** One drag event (exposed for tests and other sources). */
  handle(event: DropEvent): void {
    switch (event.type) {
      case 'enter':
      case 'over':
        this.#setHovered(this.#targetAt(event.position));
        break;
      case 'drop': {
        const target = this.#targetAt(event.position);
        this.#setHovered(null);
        if (target && event.paths.length > 0) target.onpaths(event.paths.slice());
        break;
      }
      case 'leave':
        this.#setHovered(null);
        break;
    }
  }

  #targetAt(position: Point): DropTarget | null {
    const scale = this.#scale() || 1;
    let el: Element | null = this.#hitTest(position.x / scale, position.y / scale);
    let found: DropTarget | null = null;
    while (el) {
      const t = this.#targets.get(el);
      if (t) {
        found = t;
        break;
      }
      el = el.parentElement;
    }
    found ??= Array.from(this.#targets.values()).find((t) => t.catchAll) ?? null;
    return found && !found.disabled?.() ? found : null;
  }

  #setHovered(target: DropTarget | null): void {
    if (this.#hovered === target) return;
    this.#hovered?.onhover(false);
    this.#hovered = target;
    target?.onhover(true);
  }
}

/** The webview's drag-and-drop events; nothing outside Tauri. */
export const webviewDropSource: DropSource = async (handler) => {
  if (!isTauri()) return () => {};
  const unlisten = await getCurrentWebview().onDragDropEvent((event) => handler(event.payload));
  // The webview's unlisten is async; a failure to unlisten is nothing to report.
  return () => void Promise.resolve(unlisten()).catch(() => {});
};

/** The app's drop router. */
export const dropRouter = new DropRouter(webviewDropSource);
