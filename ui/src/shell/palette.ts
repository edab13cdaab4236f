/** What the command palette (Ctrl+K) offers. */
import { SCREENS, SCREEN_SUMMARIES, SCREEN_TITLES, type Route, type ScreenName } from '../lib/routes';
import { formatCombo, parseCombo } from '../lib/shortcuts';

export interface PaletteCommand {
  id: string;
  label: string;
  /** A second line: what it does or where it goes. */
  hint?: string;
  /** Its shortcut, as shown (`Alt+1`). */
  keys?: string;
  run: () => void;
}

/** The route each sidebar screen opens; the editor and chat need the current agent (none: no editor). */
export function screenRoute(name: ScreenName, agent: string | undefined): Route | null {
  switch (name) {
    case 'editor':
      return agent ? { name: 'editor', agent, tab: 'persona' } : null;
    case 'chat':
      return agent ? { name: 'chat', agent } : { name: 'chat' };
    default:
      return { name };
  }
}

/** The shortcut of the n-th screen (Alt+1 … Alt+7). */
export function screenKeys(name: ScreenName): string {
  return `Alt+${SCREENS.indexOf(name) + 1}`;
}

/** "Go to" commands for every screen that can be opened now. */
export function screenCommands(
  agent: string | undefined,
  navigate: (route: Route) => void,
  mac: boolean,
): PaletteCommand[] {
  const out: PaletteCommand[] = [];
  for (const name of SCREENS) {
    const route = screenRoute(name, agent);
    if (!route) continue;
    out.push({
      id: `screen:${name}`,
      label: name === 'editor' && agent ? `${SCREEN_TITLES.editor}: ${agent}` : SCREEN_TITLES[name],
      hint: SCREEN_SUMMARIES[name],
      keys: formatCombo(parseCombo(screenKeys(name), mac), mac),
      run: () => navigate(route),
    });
  }
  return out;
}
