/**
 * Kill hooks that cost nothing for greenlets without any: the hub's onKill() goes through the
 * greenlet's AbortSignal (an AbortController per greenlet, too dear for every timer a request
 * makes), so Greenlet.prototype.kill is wrapped while a patch needs it, and hooks live in a WeakMap.
 */
import { Greenlet } from '@tsgi/hub';

type Hook = (reason: unknown) => void;
const hooks = new WeakMap<Greenlet<any>, Hook[]>();
const originalKill = Greenlet.prototype.kill;
let users = 0;

function kill(this: Greenlet<any>, ...args: Parameters<Greenlet<any>['kill']>): Promise<void> {
  const result = originalKill.apply(this, args);
  const list = hooks.get(this);
  if (list !== undefined) {
    hooks.delete(this);
    // The reason is the exception the hub just threw into the greenlet (or finished it with).
    const reason = (this as unknown as { _killReason: unknown })._killReason;
    for (const hook of list) hook(reason);
  }
  return result;
}

/** Calls `hook(exception)` when `g` is first killed after this call. */
export function onGreenletKill(g: Greenlet<any>, hook: Hook): void {
  const list = hooks.get(g);
  if (list === undefined) hooks.set(g, [hook]);
  else list.push(hook);
}

/** A patch that registers kill hooks holds the wrapper installed while it is applied. */
export function useKillHooks(on: boolean): void {
  users += on ? 1 : -1;
  Greenlet.prototype.kill = users > 0 ? kill : originalKill;
}
