/**
 * A drop router whose drag-and-drop events the test makes, for DropZone and
 * the screens that import dropped files. Each event lands on the window-wide
 * (catch-all) zone unless `pointAt` says which element is under the pointer.
 *
 * Given the class, so that a `vi.mock('../../lib/drop')` factory can use it
 * without importing the module it replaces.
 */
import type { DropEvent, DropRouter } from '../lib/drop';

export function testDropRouter(Router: typeof DropRouter) {
  let emit: (e: DropEvent) => void = () => {};
  let under: Element | null = null;
  const router = new Router(
    async (handler) => {
      emit = handler;
      return () => {};
    },
    { hitTest: () => under, scale: () => 1 },
  );
  return {
    router,
    pointAt(element: Element | null) {
      under = element;
    },
    /** Any event: entering, moving, leaving, dropping. */
    emit(event: DropEvent) {
      emit(event);
    },
    /** Drops `paths`. */
    drop(paths: string[]) {
      emit({ type: 'drop', paths, position: { x: 1, y: 1 } });
    },
  };
}
