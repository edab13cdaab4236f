/**
 * The app's screens and their addresses. Routes live in the URL's hash
 * (`#/library`), so the built page needs no server: it works from Tauri's
 * asset protocol, a static server or `file://` alike.
 */

/** The tabs of the agent editor, in the order shown. */
export const EDITOR_TABS = [
  'persona',
  'greetings',
  'examples',
  'lorebook',
  'model',
  'voice',
  'knowledge',
  'history',
] as const;
export type EditorTab = (typeof EDITOR_TABS)[number];

/** A screen, with what it shows. */
export type Route =
  | { name: 'library' }
  | { name: 'editor'; agent: string; tab: EditorTab }
  | { name: 'chat'; agent?: string; conversation?: string }
  | { name: 'market' }
  | { name: 'wallet' }
  | { name: 'models' }
  | { name: 'settings' }
  | { name: 'not_found'; path: string };

export type RouteName = Route['name'];

/** The screens of the sidebar, in order; `editor` is there only for an agent. */
export const SCREENS = ['library', 'editor', 'chat', 'market', 'wallet', 'models', 'settings'] as const;
export type ScreenName = (typeof SCREENS)[number];

/** What each screen is called. */
export const SCREEN_TITLES: Record<ScreenName, string> = {
  library: 'Library',
  editor: 'Agent editor',
  chat: 'Chat',
  market: 'Marketplace',
  wallet: 'Wallet & network',
  models: 'Models',
  settings: 'Settings',
};

/** What each screen is for, in one line (the command palette and the sidebar's descriptions). */
export const SCREEN_SUMMARIES: Record<ScreenName, string> = {
  library: 'Your agents: import, export, delete',
  editor: "An agent's persona, lorebook, model, voice, knowledge and history",
  chat: 'Talk with an agent, by text or voice',
  market: 'Minted agents: provenance, price, royalty',
  wallet: 'Your wallet, balance and chain',
  models: 'Download, import and remove models',
  settings: 'Data folder and audio devices',
};

/** The screen shown for an empty address. */
export const HOME: Route = { name: 'library' };

function segments(hash: string): string[] {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '').replace(/\/+$/, '').split(/[?]/)[0] ?? '';
  if (path === '') return [];
  return path.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

function isEditorTab(value: string | undefined): value is EditorTab {
  return (EDITOR_TABS as readonly string[]).includes(value ?? '');
}

/** The route a hash (`#/agents/lena/voice`) names; the Library for an empty one. */
export function parseRoute(hash: string): Route {
  const [head, ...rest] = segments(hash);
  const notFound: Route = { name: 'not_found', path: hash.replace(/^#/, '') };
  switch (head) {
    case undefined:
      return HOME;
    case 'library':
    case 'market':
    case 'wallet':
    case 'models':
    case 'settings':
      return rest.length === 0 ? { name: head } : notFound;
    case 'agents': {
      const [agent, tab, ...extra] = rest;
      if (!agent || extra.length > 0) return notFound;
      if (tab === undefined) return { name: 'editor', agent, tab: 'persona' };
      return isEditorTab(tab) ? { name: 'editor', agent, tab } : notFound;
    }
    case 'chat': {
      const [agent, conversation, ...extra] = rest;
      if (extra.length > 0) return notFound;
      const route: Route = { name: 'chat' };
      if (agent) route.agent = agent;
      if (conversation) route.conversation = conversation;
      return route;
    }
    default:
      return notFound;
  }
}

/** The hash of a route; `parseRoute(href(r))` gives `r` back. */
export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.name) {
    case 'editor':
      return route.tab === 'persona' ? `#/agents/${e(route.agent)}` : `#/agents/${e(route.agent)}/${route.tab}`;
    case 'chat':
      if (!route.agent) return '#/chat';
      return route.conversation ? `#/chat/${e(route.agent)}/${e(route.conversation)}` : `#/chat/${e(route.agent)}`;
    case 'not_found':
      return `#${route.path}`;
    default:
      return `#/${route.name}`;
  }
}

/** The agent a route is about, if any: the editor's and the chat's "current agent". */
export function routeAgent(route: Route): string | undefined {
  return route.name === 'editor' || route.name === 'chat' ? route.agent : undefined;
}

/** The heading and window title of a route. */
export function routeTitle(route: Route): string {
  return route.name === 'not_found' ? 'Not found' : SCREEN_TITLES[route.name];
}

/** Whether two routes show the same screen (the sidebar's "current page"). */
export function sameScreen(a: Route, b: Route): boolean {
  return a.name === b.name;
}
