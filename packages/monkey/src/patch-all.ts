/**
 * patchAll() and unpatchAll(): gevent.monkey.patch_all() for Node, and its undo for tests.
 */
import { patchNet, unpatchNet } from './patch-net.js';
import { patchThread, unpatchThread } from './patch-thread.js';
import { patchTimers, unpatchTimers } from './patch-timers.js';
import type { PatchName } from './registry.js';
import { PATCH_NAMES, checkName } from './registry.js';

export interface PatchAllOptions {
  /** Patch timers (default true). */
  timers?: boolean;
  /** Patch client sockets and dns.lookup (default true). */
  net?: boolean;
  /** Patch AsyncLocalStorage (default true). */
  thread?: boolean;
}

const patchers: Record<PatchName, { patch(): void; unpatch(): void }> = {
  timers: { patch: patchTimers, unpatch: unpatchTimers },
  net: { patch: patchNet, unpatch: unpatchNet },
  thread: { patch: patchThread, unpatch: unpatchThread },
};

/**
 * Applies every patch not switched off in `options` (`{ net: false }` keeps sockets as they are).
 * Patching twice is harmless. Returns the names of the patches this call asked for.
 */
export function patchAll(options: PatchAllOptions = {}): PatchName[] {
  for (const key of Object.keys(options)) checkName(key);
  const chosen = PATCH_NAMES.filter((name) => options[name] !== false);
  for (const name of chosen) patchers[name].patch();
  return chosen;
}

/** Undoes every patch (for tests). Harmless when nothing is patched. */
export function unpatchAll(): void {
  for (const name of PATCH_NAMES) patchers[name].unpatch();
}
