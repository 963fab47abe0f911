/**
 * Greenlets: a function run cooperatively on the hub, with gevent's lifecycle (scheduled, running,
 * dead), result, links and kill. The body starts from a promise reaction registered at spawn time,
 * so it runs in the spawner's async context, with the greenlet entered into `greenletStorage` there:
 * it inherits the spawner's other stores while `getCurrent()` names the greenlet after every await.
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
import type { Membership } from './greenlet-list.js';

const hub = getHub();

const enum State {
  New = 0,
  Scheduled = 1,
  Running = 2,
  /** Finished: returned, or was killed. */
  Dead = 3,
  /** Finished with an exception other than GreenletExit. Both finished states are >= Dead. */
  Failed = 4,
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

/** Called with the exception and whether it interrupted a hub wait; true withdraws it. */
export type ThrowHook = (exception: unknown, interrupted: boolean) => boolean | void;
export type KillHook = (reason: unknown) => void;

let nextId = 1;
const NO_ARGS: unknown[] = [];

/*
 * Greenlets started by spawn() wait on the hub's shared start gate. Each registers the same
 * reaction, startNext, so a scheduled greenlet costs no closure: the reaction finds its greenlet in
 * startQueue instead. That holds because reactions of one promise run in registration order, gates
 * open in the order they were made, and a gate stops taking greenlets once a newer one exists: the
 * k-th startNext to run belongs to the k-th greenlet queued.
 */
let startQueue: Array<Greenlet<any> | undefined> = [];
let startHead = 0;

function startNext(): void {
  const g = startQueue[startHead]!;
  startQueue[startHead++] = undefined;
  if (startHead === startQueue.length) {
    startQueue = [];
    startHead = 0;
  }
  if (g._state === State.Scheduled) enterAndStart(g);
}

/** Runs the body in the greenlet's own context: the reaction's (the spawner's), with `g` current. */
function enterAndStart(g: Greenlet<any>): void {
  greenletStorage.run(g, startBody, g);
}

function startBody(g: Greenlet<any>): void {
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
    // Registered inside the greenlet's context, so the reactions find it as the current greenlet.
    Promise.resolve(result).then(finishWithValue, finishWithError);
  } else {
    g._finish(result, undefined, false);
  }
}

function finishWithValue(value: unknown): void {
  greenletStorage.getStore()!._finish(value, undefined, false);
}

function finishWithError(error: unknown): void {
  greenletStorage.getStore()!._finish(undefined, error, true);
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

/**
 * What most greenlets never need, made on first use: a greenlet that runs, waits and finishes
 * without a name, local, link, join, kill or hook is only the Greenlet object itself.
 */
class GreenletExtras {
  name: string | undefined = undefined;
  locals: Map<object, Record<PropertyKey, unknown>> | null = null;
  moreWaits: Set<Wait<any>> | null = null;
  joiners: WaitList | null = null;
  links: Link<any>[] | null = null;
  notifying = false;
  controller: AbortController | null = null;
  killReason: unknown = NONE;
  later: LaterStart | null = null;
  killHooks: KillHook[] | null = null;
  throwHooks: ThrowHook[] | null = null;
  /** This greenlet's places in GreenletLists (a Group's members, the server's background), chained. */
  memberships: Membership | null = null;
}

function removeFrom<H>(list: H[] | null, hook: H): void {
  if (list === null) return;
  const i = list.indexOf(hook);
  if (i >= 0) list.splice(i, 1);
}

export class Greenlet<T = unknown> implements WaitOwner, Waitable {
  /** Creates and starts a greenlet (gevent's `Greenlet.spawn`). */
  static spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
    return create<Awaited<R>>(fn, args).start();
  }

  /** Small integer unique in this process (gevent's `minimal_ident`). */
  readonly id: number;
  /** @internal */ _state: State = State.New;
  /** @internal */ _fn: ((...args: any[]) => unknown) | null;
  /** @internal */ _args: unknown[] | null;
  /** @internal */ _pending: unknown = NONE;
  /** The return value, the GreenletExit of a kill, or the exception when failed. */
  private _result: unknown = undefined;
  private _wait: Wait<any> | null = null;
  /** @internal */ _x: GreenletExtras | null = null;
  /** @internal An embedder's value for this greenlet (the server's request); see `@tsgi/hub/internal`. */
  _tag: unknown = undefined;

  constructor(fn: (...args: any[]) => T | PromiseLike<T>, ...args: unknown[]) {
    this.id = nextId++;
    this._fn = fn;
    this._args = args.length === 0 ? NO_ARGS : args;
  }

  /** @internal */
  _extras(): GreenletExtras {
    return (this._x ??= new GreenletExtras());
  }

  /** @internal This greenlet's local() dictionaries, or null. */
  get _locals(): Map<object, Record<PropertyKey, unknown>> | null {
    return this._x === null ? null : this._x.locals;
  }

  set _locals(value: Map<object, Record<PropertyKey, unknown>> | null) {
    if (value !== null || this._x !== null) this._extras().locals = value;
  }

  get name(): string {
    return this._x?.name ?? `Greenlet-${this.id}`;
  }

  set name(value: string) {
    this._extras().name = String(value);
  }

  /** True once scheduled and until dead (gevent's `started`, i.e. `bool(greenlet)`). */
  get started(): boolean {
    return this._state === State.Scheduled || this._state === State.Running;
  }

  /** True when finished (or killed before it ran): it will never run again. */
  get dead(): boolean {
    return this._state >= State.Dead;
  }

  /** The return value; the GreenletExit instance when killed; undefined while running or on error. */
  get value(): T | GreenletExit | undefined {
    return this._state === State.Dead ? (this._result as T | GreenletExit) : undefined;
  }

  /** What the greenlet threw (GreenletExit excepted), or undefined. */
  get exception(): unknown {
    return this._state === State.Failed ? this._result : undefined;
  }

  ready(): boolean {
    return this._state >= State.Dead;
  }

  successful(): boolean {
    return this._state === State.Dead;
  }

  /** Aborted when the greenlet is killed (its reason is the exception); hand it to fetch() and friends. */
  get signal(): AbortSignal {
    const x = this._extras();
    let c = x.controller;
    if (c === null) {
      c = x.controller = new AbortController();
      if (x.killReason !== NONE) c.abort(x.killReason);
    }
    return c.signal;
  }

  /** Schedules the greenlet to run on the next loop turn. A no-op once started. */
  start(): this {
    if (this._state !== State.New) return this;
    this._state = State.Scheduled;
    if (spawnHooks.length !== 0 || spawnChannel.hasSubscribers) this._announce();
    startQueue.push(this);
    void hub.startGate().then(startNext);
    return this;
  }

  /** Schedules the greenlet to run after `seconds`. */
  startLater(seconds: number): this {
    const s = optionalSeconds(seconds, 'startLater seconds') ?? 0;
    if (this._state !== State.New) return this;
    this._state = State.Scheduled;
    this._announce();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const later = (this._extras().later = new LaterStart(open));
    hub.addTimer(later, s);
    void gate.then(() => {
      if (this._state === State.Scheduled) enterAndStart(this);
    });
    return this;
  }

  /** Runs the spawn hooks and publishes the spawn (also used by spawnNow). */
  _announce(): void {
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
    if (this._state >= State.Dead) {
      const owner = getCurrentOwner();
      if (owner._pending === NONE) return RESOLVED;
      try {
        checkPending(owner);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const x = this._extras();
    return park<void>((x.joiners ??= new WaitList()), t, undefined);
  }

  /**
   * The value once dead, or throws the greenlet's exception. Waits unless `block` is false; throws
   * a `Timeout` if not ready in time.
   */
  async get(options: GetOptions = {}): Promise<T> {
    if (this._state < State.Dead) {
      const t = optionalSeconds(options.timeout, 'get timeout');
      if (options.block === false) throw new Timeout(t);
      const x = this._extras();
      await park<void>((x.joiners ??= new WaitList()), t, t === undefined ? undefined : new Timeout(t), true);
    }
    if (this._state === State.Failed) throw this._result;
    return this._result as T;
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
    if (this._state >= State.Dead) return Promise.resolve();
    const x = this._extras();
    if (x.killReason === NONE) {
      x.killReason = exc;
      x.controller?.abort(exc);
      const hooks = x.killHooks;
      if (hooks !== null) {
        x.killHooks = null;
        for (let i = 0; i < hooks.length; i++) this._callHook(hooks[i], exc, false);
      }
    }
    if (this._state === State.New || this._state === State.Scheduled) {
      const later = x.later;
      if (later !== null) {
        x.later = null;
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

  /** A failing hook is reported like a failing link; it must not stop the kill or the Timeout. */
  private _callHook(hook: KillHook | ThrowHook, exc: unknown, interrupted: boolean): boolean {
    try {
      return (hook as ThrowHook)(exc, interrupted) === true;
    } catch (error) {
      hub.handleError(`hook ${hook.name || 'callback'} of ${this.toString()}`, error);
      return false;
    }
  }

  /** @internal Delivers `exc` at the current hub wait(s), or leaves it pending for the next. */
  _throw(exc: unknown): void {
    if (this._state >= State.Dead) return;
    const w = this._wait;
    const x = this._x;
    if (w === null) {
      if (this._pending === NONE) this._pending = exc;
    } else {
      const more = x === null ? null : x.moreWaits;
      this._wait = null;
      if (more !== null) x!.moreWaits = null;
      w.interrupt(exc);
      if (more !== null) for (const m of more) m.interrupt(exc);
    }
    const hooks = x === null ? null : x.throwHooks;
    if (hooks === null || hooks.length === 0) return;
    let withdrawn = false;
    for (const hook of [...hooks]) if (this._callHook(hook, exc, w !== null)) withdrawn = true;
    if (withdrawn && w === null && this._pending === exc) this._pending = NONE;
  }

  /** @internal */
  _addWait(w: Wait<any>): void {
    if (this._wait === null) this._wait = w;
    else {
      const x = this._extras();
      (x.moreWaits ??= new Set()).add(w);
    }
  }

  /** @internal */
  _removeWait(w: Wait<any>): void {
    const more = this._x === null ? null : this._x.moreWaits;
    if (this._wait === w) {
      this._wait = null;
      if (more !== null && more.size > 0) {
        const first = more.values().next().value as Wait<any>;
        more.delete(first);
        this._wait = first;
      }
    } else if (more !== null) {
      more.delete(w);
    }
  }

  /** @internal True while the greenlet is parked in at least one hub wait. */
  get _inHubWait(): boolean {
    return this._wait !== null;
  }

  /** @internal */
  _finish(value: unknown, error: unknown, failed: boolean): void {
    if (failed && !(error instanceof GreenletExit)) {
      this._state = State.Failed;
      this._result = error;
      hub.handleError(this, error);
    } else {
      this._state = State.Dead;
      this._result = failed ? error : value;
    }
    this._fn = null;
    this._args = null;
    this._pending = NONE;
    const w = this._wait;
    const x = this._x;
    if (x === null) {
      if (w !== null) {
        this._wait = null;
        w.abandon();
      }
      return;
    }
    x.locals = null;
    x.throwHooks = null;
    x.killHooks = null;
    // Waits left registered (an un-awaited sleep, the loser of a Promise.race) must not keep
    // consuming queue items or permits for a greenlet that is gone.
    if (w !== null) {
      const more = x.moreWaits;
      this._wait = x.moreWaits = null;
      w.abandon();
      if (more !== null) for (const m of more) m.abandon();
    }
    x.joiners?.resolveAll(undefined);
    if (x.links !== null && x.links.length > 0) this._scheduleLinks(x);
  }

  private _scheduleLinks(x: GreenletExtras): void {
    if (x.notifying) return;
    x.notifying = true;
    hub.callSoon(() => this._notifyLinks(x));
  }

  private _notifyLinks(x: GreenletExtras): void {
    x.notifying = false;
    const links = x.links;
    if (links === null) return;
    const failed = this._state === State.Failed;
    while (links.length > 0) {
      const { cb, kind } = links.shift()!;
      if (kind === LinkKind.Value && failed) continue;
      if (kind === LinkKind.Exception && !failed) continue;
      try {
        cb(this);
      } catch (error) {
        hub.handleError(`link ${cb.name || 'callback'} of ${this.toString()}`, error);
      }
    }
  }

  private _addLink(cb: LinkCallback<T>, kind: LinkKind): void {
    const x = this._extras();
    (x.links ??= []).push({ cb, kind });
    if (this._state >= State.Dead) this._scheduleLinks(x);
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
    const links = this._x === null ? null : this._x.links;
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

const RESOLVED: Promise<void> = Promise.resolve();

/** A greenlet for spawn() and friends, without copying their rest-argument array again. */
function create<T>(fn: (...args: any[]) => unknown, args: unknown[]): Greenlet<T> {
  const g = new Greenlet<T>(fn as (...a: any[]) => T);
  if (args.length !== 0) g._args = args;
  return g;
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
  return create<Awaited<R>>(fn, args).start();
}

/**
 * Like spawn(), but the greenlet starts in a microtask of the current turn rather than on the next
 * loop turn (internal: the server starts each request's greenlet this way, so a response is written
 * in the same turn its request was read, as a plain Node server writes it). It still starts in the
 * spawner's async context, from a promise reaction.
 */
export function spawnNow<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
  const g = create<Awaited<R>>(fn, args);
  g._state = State.Scheduled;
  if (spawnHooks.length !== 0 || spawnChannel.hasSubscribers) g._announce();
  void Promise.resolve(g).then(startScheduled);
  return g;
}

/**
 * Creates a greenlet and runs its body at once, synchronously, up to its first wait; the caller
 * resumes when the body waits or ends, as after gevent's `greenlet.switch()` (internal: the server
 * runs each request this way, so a response the app returns whole is written before the HTTP
 * parser's callback returns, with no promise at all).
 */
export function runNow<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
  const g = create<Awaited<R>>(fn, args);
  g._state = State.Scheduled;
  if (spawnHooks.length !== 0 || spawnChannel.hasSubscribers) g._announce();
  greenletStorage.run(g, startBody, g);
  return g;
}

function startScheduled(g: Greenlet<any>): void {
  if (g._state === State.Scheduled) enterAndStart(g);
}

/** Creates a greenlet that starts after `seconds`. */
export function spawnLater<A extends unknown[], R>(
  seconds: number,
  fn: (...args: A) => R,
  ...args: A
): Greenlet<Awaited<R>> {
  return create<Awaited<R>>(fn, args).startLater(seconds);
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

/**
 * @internal Calls `hook(reason)` once, synchronously inside kill(), when `g` is first killed; at
 * once if it already was. Returns a function that removes the hook.
 */
export function onKill(g: Greenlet<any>, hook: KillHook): () => void {
  const killed = g._x === null ? NONE : g._x.killReason;
  if (killed !== NONE) {
    hook(killed);
    return noop;
  }
  if (g.dead) return noop;
  const x = g._extras();
  (x.killHooks ??= []).push(hook);
  return () => removeFrom(x.killHooks, hook);
}

/**
 * @internal Calls `hook(exception, interrupted)` each time kill() or an expiring Timeout throws into
 * `g`, after the hub delivered it: `interrupted` is true when it interrupted a hub wait, false when
 * it was left pending for the next one (`g` is busy in a non-hub await). A hook returning true
 * withdraws the pending exception: it reached the greenlet some other way. Hooks go when `g` dies.
 */
export function onThrow(g: Greenlet<any>, hook: ThrowHook): () => void {
  if (g.dead) return noop;
  const x = g._extras();
  (x.throwHooks ??= []).push(hook);
  return () => removeFrom(x.throwHooks, hook);
}

/** @internal True once kill() was called on `g` (it may still be running its finally blocks). */
export function isKilled(g: Greenlet<any>): boolean {
  const x = g._x;
  return x !== null && x.killReason !== NONE;
}

const noop = (): void => {};

/** @internal Registers a hook called synchronously whenever a greenlet is spawned. */
export function onSpawn(hook: SpawnHook): () => void {
  spawnHooks.push(hook);
  return () => {
    const i = spawnHooks.indexOf(hook);
    if (i >= 0) spawnHooks.splice(i, 1);
  };
}
