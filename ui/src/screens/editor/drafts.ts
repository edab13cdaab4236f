/**
 * Unsaved forms of agents whose editor was left without saving or
 * discarding (a shortcut or the command palette went elsewhere): opening the
 * agent again brings them back. In memory only; closing the app loses them.
 */
import type { AgentForm } from '../../bindings';

const unsaved = new Map<string, AgentForm>();

/** Keeps `form` as the unsaved changes of agent `id`. */
export function keepUnsaved(id: string, form: AgentForm): void {
  unsaved.set(id, JSON.parse(JSON.stringify(form)) as AgentForm);
}

/** The unsaved changes of agent `id`, removed from the store; none if there are none. */
export function takeUnsaved(id: string): AgentForm | undefined {
  const form = unsaved.get(id);
  unsaved.delete(id);
  return form;
}

/** Forgets every kept form (tests). */
export function clearUnsaved(): void {
  unsaved.clear();
}
