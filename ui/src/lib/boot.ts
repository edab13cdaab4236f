/**
 * What the shell hands the page before its scripts run (`window.__FAMILIAR_BOOT__`,
 * src-tauri's boot script): the first screen's data, so it paints once, whole,
 * without waiting for the page to load before IPC answers. Each part is taken
 * once; the screen still asks the core right after.
 */
import type { AgentCard } from '../bindings';

export interface Boot {
  agents?: AgentCard[] | null;
}

declare global {
  interface Window {
    __FAMILIAR_BOOT__?: Boot;
  }
}

/** The agents the shell gave, once; afterwards `undefined`. */
export function takeBootAgents(): AgentCard[] | undefined {
  const boot = typeof window === 'undefined' ? undefined : window.__FAMILIAR_BOOT__;
  const agents = boot?.agents ?? undefined;
  if (boot) delete boot.agents;
  return agents;
}
