/** The props' shapes of the shared components (view models the screens fill from the bindings' DTOs). */

/** A choice in a {@link Select}. */
export interface SelectOption<T extends string = string> {
  value: T;
  label: string;
  disabled?: boolean;
}

/** A tab of {@link Tabs}. */
export interface TabItem<T extends string = string> {
  id: T;
  label: string;
  disabled?: boolean;
  /** A short note after the label (a count, "new"). */
  badge?: string;
}

/** One line of a {@link ConfirmDialog}'s amounts: `Price — 0.05 ETH`. */
export interface Amount {
  label: string;
  /** Already formatted (`formatEther`). */
  value: string;
  /** What it means (`paid to the creator, out of the price`). */
  note?: string;
  /** A `data-testid` for the value (end-to-end tests read it). */
  testid?: string;
}

/** A source a reply cites, for {@link CitationList}. */
export interface CitationItem {
  /** Unique within the list. */
  id: string | number;
  /** The number the reply uses (`[1]`). */
  n: number;
  /** The document's title or file name. */
  title: string;
  /** `page 4`, `section Installation`. */
  location?: string;
  /** Where it came from: the knowledge base, the file's path. */
  source?: string;
  /** The cited passage, when known. */
  excerpt?: string;
  /** Whether the reply refers to it (retrieved sources it did not use are shown apart). */
  cited?: boolean;
}
