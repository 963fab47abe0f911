/**
 * patchThread(): AsyncLocalStorage stores become greenlet-local, the Node analogue of gevent
 * patching `threading.local`.
 *
 * Every patched store keeps its values in one frame storage of ours (a native AsyncLocalStorage
 * holding immutable frames), and each frame records the greenlet that made it. A frame reaching a
 * greenlet that did not make it (one inherited through spawn) shows only the stores that opted in
 * with `inheritAcrossSpawn()`. So the semantics are the same on Node 20 (async_hooks) and Node 24
 * (AsyncContextFrame): both only ever carry our frame object, never a store's value directly.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Greenlet } from '@tsgi/hub';
import { greenletStorage } from '@tsgi/hub/internal';
import { NotAStoreError } from './errors.js';
import { markPatched } from './registry.js';

type Store = AsyncLocalStorage<unknown>;
type Proto = {
  getStore(this: Store): unknown;
  run(this: Store, value: unknown, fn: (...args: any[]) => unknown, ...args: any[]): unknown;
  exit(this: Store, fn: (...args: any[]) => unknown, ...args: any[]): unknown;
  enterWith(this: Store, value: unknown): void;
  disable(this: Store): void;
};

const proto = AsyncLocalStorage.prototype as unknown as Proto;
/** The methods as they were when this module was first evaluated. */
const original: Proto = {
  getStore: proto.getStore,
  run: proto.run,
  exit: proto.exit,
  enterWith: proto.enterWith,
  disable: proto.disable,
};

interface Frame {
  /** The greenlet that made the frame; null outside any greenlet. */
  readonly owner: Greenlet<any> | null;
  readonly values: ReadonlyMap<Store, unknown>;
}

const frames = new AsyncLocalStorage<Frame>();
const inherited = new WeakSet<Store>();

/* Our frame storage keeps Node's own methods as own properties, so the patch cannot recurse into itself. */
const exempt: Store[] = [frames as Store];

const ownerNow = (): Greenlet<any> | null => greenletStorage.getStore() ?? null;
const frameNow = (): Frame | undefined => original.getStore.call(frames as Store) as Frame | undefined;

/** The values the current code may see, as a map it may extend (copied). */
function visibleValues(frame: Frame | undefined, owner: Greenlet<any> | null): Map<Store, unknown> {
  const out = new Map<Store, unknown>();
  if (frame === undefined) return out;
  if (frame.owner === owner) {
    for (const [k, v] of frame.values) out.set(k, v);
  } else {
    for (const [k, v] of frame.values) if (inherited.has(k)) out.set(k, v);
  }
  return out;
}

function newFrame(store: Store, value: unknown): Frame {
  const owner = ownerNow();
  const values = visibleValues(frameNow(), owner);
  values.set(store, value);
  return { owner, values };
}

/*
 * A store that has no entry in any frame may still hold a value set natively before the patch (an
 * app's module-level enterWith at load time). Outside greenlets that value stays visible, as
 * before the patch; inside a greenlet it is a value of whoever ran before, so only inherited stores
 * show it.
 */
function patchedGetStore(this: Store): unknown {
  const frame = frameNow();
  const owner = ownerNow();
  if (frame !== undefined && frame.values.has(this)) {
    if (frame.owner === owner || inherited.has(this)) return frame.values.get(this);
    return undefined;
  }
  if (owner === null || inherited.has(this)) return original.getStore.call(this);
  return undefined;
}

function patchedRun(this: Store, value: unknown, fn: (...args: any[]) => unknown, ...args: any[]): unknown {
  return original.run.call(frames as Store, newFrame(this, value), fn, ...args);
}

function patchedExit(this: Store, fn: (...args: any[]) => unknown, ...args: any[]): unknown {
  return original.run.call(frames as Store, newFrame(this, undefined), fn, ...args);
}

function patchedEnterWith(this: Store, value: unknown): void {
  original.enterWith.call(frames as Store, newFrame(this, value));
}

function patchedDisable(this: Store): void {
  original.disable.call(this);
  if (frameNow() !== undefined) original.enterWith.call(frames as Store, newFrame(this, undefined));
}

/**
 * Marks `store` as inherited across spawn: a greenlet sees the value its spawner had in it (as with
 * unpatched AsyncLocalStorage), instead of starting empty. For request contexts and tracing
 * contexts (OpenTelemetry's context manager keeps its store in `_asyncLocalStorage`). Works
 * whether or not the thread patch is applied yet. Returns the store.
 */
export function inheritAcrossSpawn<S extends AsyncLocalStorage<any>>(store: S): S {
  if (!(store instanceof AsyncLocalStorage)) throw new NotAStoreError(store);
  inherited.add(store as Store);
  return store;
}

/** True when `store` was marked with inheritAcrossSpawn(). */
export function isInheritedAcrossSpawn(store: AsyncLocalStorage<any>): boolean {
  return inherited.has(store as Store);
}

let patched = false;

/**
 * gevent's `patch_thread`, for Node: every AsyncLocalStorage (existing ones too) becomes
 * greenlet-local. A greenlet never sees a value another greenlet entered, and a spawned greenlet
 * starts empty, except in stores marked with inheritAcrossSpawn(). Patching twice is harmless.
 */
export function patchThread(): void {
  if (patched) return;
  for (const s of exempt) {
    for (const key of Object.keys(original) as Array<keyof Proto>) {
      Object.defineProperty(s, key, { value: original[key], configurable: true, writable: true, enumerable: false });
    }
  }
  proto.getStore = patchedGetStore;
  proto.run = patchedRun;
  proto.exit = patchedExit;
  proto.enterWith = patchedEnterWith;
  proto.disable = patchedDisable;
  patched = true;
  markPatched('thread', true);
}

/**
 * Restores Node's AsyncLocalStorage. Values entered while patched live in our frames and are not
 * seen by the restored methods.
 */
export function unpatchThread(): void {
  if (!patched) return;
  Object.assign(proto, original);
  for (const s of exempt) for (const key of Object.keys(original)) delete (s as any)[key];
  patched = false;
  markPatched('thread', false);
}
