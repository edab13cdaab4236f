/**
 * The current route, kept in step with `location.hash`: back and forward,
 * links (`<a href={href(route)}>`) and {@link Router.navigate} all go
 * through `hashchange`.
 */
import { HOME, href, parseRoute, routeAgent, type Route } from './routes';

export class Router {
  /** The screen being shown. */
  route: Route = $state(HOME);
  /** The agent last opened in the editor or the chat: where the sidebar's Editor leads. */
  agent: string | undefined = $state(undefined);

  readonly #window: Window;

  constructor(win: Window = window) {
    this.#window = win;
    this.#read();
  }

  /** Follows the address from now on; returns what stops following. */
  start(): () => void {
    const onChange = () => this.#read();
    this.#window.addEventListener('hashchange', onChange);
    this.#read();
    return () => this.#window.removeEventListener('hashchange', onChange);
  }

  /** Shows `route`; with `replace`, without adding a history entry. */
  navigate(route: Route, options: { replace?: boolean } = {}): void {
    const target = href(route);
    if (options.replace) {
      this.#window.history.replaceState(this.#window.history.state, '', target);
      this.#read();
    } else if (this.#window.location.hash !== target) {
      this.#window.location.hash = target;
      // jsdom and browsers fire hashchange asynchronously; the state follows at once.
      this.#read();
    }
  }

  #read(): void {
    const hash = this.#window.location.hash;
    const route = parseRoute(hash);
    if (hash === '' || hash === '#' || hash === '#/') {
      this.#window.history.replaceState(this.#window.history.state, '', href(route));
    }
    this.route = route;
    const agent = routeAgent(route);
    if (agent !== undefined) this.agent = agent;
  }
}

/** The app's router. */
export const router = new Router();
