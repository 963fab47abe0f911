/**
 * Greenlets: a function run cooperatively on the hub, with gevent's lifecycle (scheduled, running,
 * dead), result, links and kill. The body runs inside `greenletStorage.run(greenlet, ...)` entered
 * synchronously at spawn time, so it inherits the spawner's other async context while `getCurrent()`
 * names the greenlet after every await.
 */
import { inspect } from 'node:util';
import { GreenletExit, GreenletStateError, optionalSeconds } from './errors.js';
import {
  NONE,
  Wait,
  WaitList,
  checkPending,
  getCurrentOwner,
  getHub,
  greenletStorage,
  park,
  spawnChannel,
  type WaitOwner,
} from './hub.js';
import { Timeout, type ExceptionSpec } from './timeout.js';
import type { TimerEntry } from './timer-heap.js';

const hub = getHub();

const enum State {
  New = 0,
  Scheduled = 1,
  Running = 2,
  Dead = 3,
}

/** Anything `wait()`, `iwait()` and `joinAll()` can wait on (Greenlet, Event, AsyncResult). */
export interface Waitable {
  rawlink(callback: (source: any) => void): void;
  unlink(callback: (source: any) => void): void;
}

export type LinkCallback<T> = (greenlet: Greenlet<T>) => void;

const enum LinkKind {
  Any = 0,
  Value = 1,
  Exception = 2,
}

interface Link<T> {
  cb: LinkCallback<T>;
  kind: LinkKind;
}

export interface KillOptions {
  /** Thrown into the greenlet (an instance or an Error class); default GreenletExit. */
  exception?: ExceptionSpec | unknown;
  /** Resolve only after the greenlet is dead (default true). */
  block?: boolean;
  /** With block, give up waiting after this many seconds. */
  timeout?: number | null;
}

export interface GetOptions {
  block?: boolean;
  timeout?: number | null;
}

type SpawnHook = (child: Greenlet<any>, parent: Greenlet<any>) => void;
const spawnHooks: SpawnHook[] = [];

let nextId = 1;

/**
 * Runs the body once the start gate opens. Written with then() rather than as an async function:
 * a parked greenlet then holds no suspended async frame of the hub's, only the user's own.
 */
function runGreenlet(g: Greenlet<any>, gate: Promise<void>): void {
  // The reaction captures the current context: the spawner's, with g as the current greenlet.
  void gate.then(() => startBody(g));
}

function startBody(g: Greenlet<any>): void {
  if (g._state !== State.Scheduled) return;
  g._state = State.Running;
  const monitor = hub._monitor;
  if (monitor !== null) monitor.record(g);
  let result: unknown;
  try {
    result = g._fn!.apply(undefined, g._args!);
  } catch (error) {
    g._finish(undefined, error, true);
    return;
  }
  if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function') {
    Promise.resolve(result).then(
      (value) => g._finish(value, undefined, false),
      (error: unknown) => g._finish(undefined, error, true),
    );
  } else {
    g._finish(result, undefined, false);
  }
}

class LaterStart implements TimerEntry {
  _deadline = 0;
  _seq = 0;
  _heapIndex = -1;
  constructor(readonly open: () => void) {}
  _fire(): void {
    this.open();
  }
}

export class Greenlet<T = unknown> implements WaitOwner, Waitable {
  /** Creates and starts a greenlet (gevent's `Greenlet.spawn`). */
  static spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
    const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => any, ...args);
    g.start();
    return g;
  }

  /** Small integer unique in this process (gevent's `minimal_ident`). */
  readonly id: number;
  /** @internal */ _state: State = State.New;
  /** @internal */ _fn: ((...args: any[]) => unknown) | null;
  /** @internal */ _args: unknown[] | null;
  /** @internal */ _pending: unknown = NONE;
  /** @internal */ _locals: Map<object, Record<PropertyKey, unknown>> | null = null;
  private _name: string | undefined = undefined;
  private _value: unknown = undefined;
  private _exception: unknown = undefined;
  private _failed = false;
  private _wait: Wait<any> | null = null;
  private _moreWaits: Set<Wait<any>> | null = null;
  private _joiners: WaitList | null = null;
  private _links: Link<any>[] | null = null;
  private _notifying = false;
  private _controller: AbortController | null = null;
  private _killReason: unknown = NONE;
  private _later: LaterStart | null = null;

  constructor(fn: (...args: any[]) => T | PromiseLike<T>, ...args: unknown[]) {
    this.id = nextId++;
    this._fn = fn;
    this._args = args;
  }

  get name(): string {
    return this._name ?? `Greenlet-${this.id}`;
  }

  set name(value: string) {
    this._name = String(value);
  }

  /** True once scheduled and until dead (gevent's `started`, i.e. `bool(greenlet)`). */
  get started(): boolean {
    return this._state === State.Scheduled || this._state === State.Running;
  }

  /** True when finished (or killed before it ran): it will never run again. */
  get dead(): boolean {
    return this._state === State.Dead;
  }

  /** The return value; the GreenletExit instance when killed; undefined while running or on error. */
  get value(): T | GreenletExit | undefined {
    return this._value as T | GreenletExit | undefined;
  }

  /** What the greenlet threw (GreenletExit excepted), or undefined. */
  get exception(): unknown {
    return this._exception;
  }

  ready(): boolean {
    return this._state === State.Dead;
  }

  successful(): boolean {
    return this._state === State.Dead && !this._failed;
  }

  /** Aborted when the greenlet is killed (its reason is the exception); hand it to fetch() and friends. */
  get signal(): AbortSignal {
    let c = this._controller;
    if (c === null) {
      c = this._controller = new AbortController();
      if (this._killReason !== NONE) c.abort(this._killReason);
    }
    return c.signal;
  }

  /** Schedules the greenlet to run on the next loop turn. A no-op once started. */
  start(): this {
    if (this._state !== State.New || this._later !== null) return this;
    this._state = State.Scheduled;
    this._announce();
    greenletStorage.run(this, runGreenlet, this, hub.startGate());
    return this;
  }

  /** Schedules the greenlet to run after `seconds`. */
  startLater(seconds: number): this {
    const s = optionalSeconds(seconds, 'startLater seconds') ?? 0;
    if (this._state !== State.New || this._later !== null) return this;
    this._state = State.Scheduled;
    this._announce();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    this._later = new LaterStart(open);
    hub.addTimer(this._later, s);
    greenletStorage.run(this, runGreenlet, this, gate);
    return this;
  }

  private _announce(): void {
    const parent = greenletStorage.getStore() ?? hub.main;
    for (let i = 0; i < spawnHooks.length; i++) spawnHooks[i](this, parent);
    if (spawnChannel.hasSubscribers) spawnChannel.publish({ greenlet: this, parent });
  }

  /**
   * Resolves when the greenlet is dead, or after `timeout` seconds (it keeps running then). Never
   * throws the greenlet's exception; throws only if the *waiting* greenlet is killed or times out.
   */
  join(timeout?: number | null): Promise<void> {
    const t = optionalSeconds(timeout, 'join timeout');
    if (this._state === State.Dead) {
      try {
        checkPending(getCurrentOwner());
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    return park<void>(this._joiners ??= new WaitList(), t, undefined);
  }

  /**
   * The value once dead, or throws the greenlet's exception. Waits unless `block` is false; throws
   * a `Timeout` if not ready in time.
   */
  async get(options: GetOptions = {}): Promise<T> {
    if (this._state !== State.Dead) {
      const t = optionalSeconds(options.timeout, 'get timeout');
      if (options.block === false) throw new Timeout(t);
      await park<void>(this._joiners ??= new WaitList(), t, new Timeout(t), true);
    }
    if (this._failed) throw this._exception;
    return this._value as T;
  }

  /**
   * Kills the greenlet: its current hub wait (or its next, if it is in a non-hub await) throws
   * `exception`, and `signal` aborts at once. A greenlet that has not started never runs.
   */
  kill(options: KillOptions = {}): Promise<void> {
    if (this === hub.main) {
      throw new GreenletStateError('the main greenlet cannot be killed: it stands for code outside any greenlet');
    }
    const t = optionalSeconds(options.timeout, 'kill timeout');
    const spec = options.exception ?? GreenletExit;
    const exc = typeof spec === 'function' ? new (spec as new () => Error)() : spec;
    if (this._state === State.Dead) return Promise.resolve();
    if (this._killReason === NONE) {
      this._killReason = exc;
      this._controller?.abort(exc);
    }
    if (this._state === State.New || this._state === State.Scheduled) {
      const later = this._later;
      if (later !== null) {
        this._later = null;
        hub.removeTimer(later);
        later.open();
      }
      this._finish(undefined, exc, true);
      return Promise.resolve();
    }
    this._throw(exc);
    if (options.block === false) return Promise.resolve();
    return this.join(t);
  }

  /** @internal Delivers `exc` at the current hub wait(s), or leaves it pending for the next. */
  _throw(exc: unknown): void {
    if (this._state === State.Dead) return;
    const w = this._wait;
    if (w === null) {
      if (this._pending === NONE) this._pending = exc;
      return;
    }
    const more = this._moreWaits;
    this._wait = null;
    this._moreWaits = null;
    w.interrupt(exc);
    if (more !== null) for (const m of more) m.interrupt(exc);
  }

  /** @internal */
  _addWait(w: Wait<any>): void {
    if (this._wait === null) this._wait = w;
    else (this._moreWaits ??= new Set()).add(w);
  }

  /** @internal */
  _removeWait(w: Wait<any>): void {
    if (this._wait === w) {
      this._wait = null;
      const more = this._moreWaits;
      if (more !== null && more.size > 0) {
        const first = more.values().next().value as Wait<any>;
        more.delete(first);
        this._wait = first;
      }
    } else if (this._moreWaits !== null) {
      this._moreWaits.delete(w);
    }
  }

  /** @internal */
  _finish(value: unknown, error: unknown, failed: boolean): void {
    this._state = State.Dead;
    if (failed && error instanceof GreenletExit) {
      this._value = error;
    } else if (failed) {
      this._failed = true;
      this._exception = error;
    } else {
      this._value = value;
    }
    if (this._failed) hub.handleError(this, error);
    this._fn = null;
    this._args = null;
    this._pending = NONE;
    this._locals = null;
    // Waits left registered (an un-awaited sleep, the loser of a Promise.race) must not keep
    // consuming queue items or permits for a greenlet that is gone.
    const w = this._wait;
    if (w !== null) {
      const more = this._moreWaits;
      this._wait = this._moreWaits = null;
      w.abandon();
      if (more !== null) for (const m of more) m.abandon();
    }
    this._joiners?.resolveAll(undefined);
    if (this._links !== null && this._links.length > 0) this._scheduleLinks();
  }

  private _scheduleLinks(): void {
    if (this._notifying) return;
    this._notifying = true;
    hub.callSoon(() => this._notifyLinks());
  }

  private _notifyLinks(): void {
    this._notifying = false;
    const links = this._links;
    if (links === null) return;
    while (links.length > 0) {
      const { cb, kind } = links.shift()!;
      if (kind === LinkKind.Value && this._failed) continue;
      if (kind === LinkKind.Exception && !this._failed) continue;
      try {
        cb(this);
      } catch (error) {
        hub.handleError(`link ${cb.name || 'callback'} of ${this.toString()}`, error);
      }
    }
  }

  private _addLink(cb: LinkCallback<T>, kind: LinkKind): void {
    (this._links ??= []).push({ cb, kind });
    if (this._state === State.Dead) this._scheduleLinks();
  }

  /** Calls `cb(greenlet)` in the hub after death (also when linked after death). */
  link(cb: LinkCallback<T>): void {
    this._addLink(cb, LinkKind.Any);
  }

  /** Like link, only if the greenlet succeeded. */
  linkValue(cb: LinkCallback<T>): void {
    this._addLink(cb, LinkKind.Value);
  }

  /** Like link, only if the greenlet failed. */
  linkException(cb: LinkCallback<T>): void {
    this._addLink(cb, LinkKind.Exception);
  }

  /** Same as link (the Waitable protocol of wait()/iwait()). */
  rawlink(cb: LinkCallback<T>): void {
    this._addLink(cb, LinkKind.Any);
  }

  unlink(cb: LinkCallback<T>): void {
    const links = this._links;
    if (links === null) return;
    const i = links.findIndex((l) => l.cb === cb);
    if (i >= 0) links.splice(i, 1);
  }

  /** gevent's repr: `<Greenlet "name" at 0x1f: fn(1, 'a')>`. */
  toString(): string {
    let s = `<Greenlet "${this.name}" at 0x${this.id.toString(16)}`;
    const fn = this._fn;
    if (fn !== null) {
      const args = (this._args ?? []).map((a) => inspect(a, { depth: 0, breakLength: Infinity }).slice(0, 60));
      s += `: ${fn.name || 'anonymous'}(${args.join(', ')})`;
    }
    return `${s}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

class MainGreenlet extends Greenlet<any> {
  constructor() {
    super(() => {
      throw new GreenletStateError('the main greenlet does not run a function');
    });
    this._state = State.Running;
    this._fn = null;
    this._args = null;
    this.name = 'MainGreenlet';
  }
}

hub.main = new MainGreenlet();

/** The current greenlet, or the hub's main greenlet outside any greenlet. */
export function getCurrent(): Greenlet<any> {
  return greenletStorage.getStore() ?? hub.main;
}

/** Creates a greenlet that starts on the next loop turn. */
export function spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
  const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => any, ...args);
  g.start();
  return g;
}

/** Creates a greenlet that starts after `seconds`. */
export function spawnLater<A extends unknown[], R>(
  seconds: number,
  fn: (...args: A) => R,
  ...args: A
): Greenlet<Awaited<R>> {
  const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => any, ...args);
  g.startLater(seconds);
  return g;
}

export interface WaitOptions {
  timeout?: number | null;
  count?: number;
}

/** Yields each object as it becomes ready (greenlet dead, event set, result ready), until timeout. */
export async function* iwait<O extends Waitable>(objects: Iterable<O>, options: WaitOptions = {}): AsyncGenerator<O, void, undefined> {
  const list = [...objects];
  const t = optionalSeconds(options.timeout, 'iwait timeout');
  const total = options.count === undefined ? list.length : Math.min(options.count, list.length);
  const ready: O[] = [];
  let head = 0;
  let waiter: Wait<boolean> | null = null;
  const onReady = (o: O): void => {
    ready.push(o);
    const w = waiter;
    if (w !== null) {
      waiter = null;
      w.resolve(true);
    }
  };
  for (const o of list) o.rawlink(onReady);
  const deadline = t === undefined ? undefined : performance.now() + t * 1000;
  try {
    for (let yielded = 0; yielded < total; yielded++) {
      if (head === ready.length) {
        const remaining = deadline === undefined ? undefined : Math.max(0, (deadline - performance.now()) / 1000);
        const got = await park<boolean>(
          (w) => {
            waiter = w;
          },
          remaining,
          false,
        );
        waiter = null;
        if (!got) return;
      }
      yield ready[head++];
    }
  } finally {
    for (const o of list) o.unlink(onReady);
  }
}

/** Waits for `count` (default all) objects to be ready, or the timeout; returns the ready ones. */
export async function wait<O extends Waitable>(objects: Iterable<O>, options: WaitOptions = {}): Promise<O[]> {
  const done: O[] = [];
  for await (const o of iwait(objects, options)) done.push(o);
  return done;
}

export interface JoinAllOptions extends WaitOptions {
  /** Rethrow the first failure as soon as it happens. */
  raiseError?: boolean;
}

/** Waits for the greenlets (or `count` of them, or until `timeout`); returns the finished ones. */
export async function joinAll<G extends Greenlet<any>>(greenlets: Iterable<G>, options: JoinAllOptions = {}): Promise<G[]> {
  const done: G[] = [];
  for await (const g of iwait(greenlets, options)) {
    if (options.raiseError && !g.successful()) throw g.exception;
    done.push(g);
  }
  return done;
}

/** Kills every greenlet; with `block` (default) waits until all are dead or `timeout` passes. */
export async function killAll(greenlets: Iterable<Greenlet<any>>, options: KillOptions = {}): Promise<void> {
  const list = [...greenlets];
  for (const g of list) void g.kill({ exception: options.exception, block: false });
  if (options.block === false) return;
  await joinAll(list, { timeout: options.timeout });
}

/** @internal Registers a hook called synchronously whenever a greenlet is spawned. */
export function onSpawn(hook: SpawnHook): () => void {
  spawnHooks.push(hook);
  return () => {
    const i = spawnHooks.indexOf(hook);
    if (i >= 0) spawnHooks.splice(i, 1);
  };
}
