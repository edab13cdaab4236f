/**
 * The form being edited and the form last saved: whether there are unsaved
 * changes, and what is wrong before saving.
 */
import type { AgentForm } from '../../bindings';
import { copyForm, normalizeForm, validateForm, type FieldErrors } from './form';

function key(form: AgentForm): string {
  return JSON.stringify(normalizeForm(form));
}

export class AgentDraft {
  /** What the editor shows and changes. */
  form: AgentForm;
  #saved: string;
  /** The form differs from the one last saved. */
  readonly dirty: boolean;
  /** What must be fixed before saving (empty when nothing). */
  readonly errors: FieldErrors;

  /** `saved` is the agent as stored; `edited`, unsaved changes made earlier, if any. */
  constructor(saved: AgentForm, edited?: AgentForm) {
    this.form = $state(copyForm(edited ?? saved));
    this.#saved = $state(key(saved));
    this.dirty = $derived(key(this.form) !== this.#saved);
    this.errors = $derived(validateForm(this.form));
  }

  /** Starts over from `saved` (another version was loaded). */
  reset(saved: AgentForm): void {
    this.form = copyForm(saved);
    this.#saved = key(saved);
  }

  /** `sent` was saved: it is the new baseline (edits made while saving stay unsaved). */
  markSaved(sent: AgentForm): void {
    this.#saved = key(sent);
  }

  /** The saved form, as a copy. */
  saved(): AgentForm {
    return JSON.parse(this.#saved) as AgentForm;
  }

  /** Drops the unsaved changes. */
  discard(): void {
    this.form = this.saved();
  }
}
