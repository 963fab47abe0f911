/**
 * The hub: the callback queue drained once per loop turn, the timer heap armed with a single Node
 * timer, the one wait primitive every blocking operation goes through, and error reporting.
 * Greenlets themselves live in greenlet.ts, the current-greenlet storage in greenlet-context.ts.
 */
import { AsyncResource } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import type { Greenlet } from './greenlet.js';
import { InvalidArgumentError } from './errors.js';
import { TimerHeap, type TimerEntry } from './timer-heap.js';
import type { BlockingMonitor, MonitorOptions } from './monitor.js';
import { startBlockingMonitor } from './monitor.js';
import { greenletStorage } from './greenlet-context.js';

export { greenletStorage };

/** Marks "no pending exception" (an exception may be any value, even undefined). */
export const NONE: unique symbol = Symbol('tsgi.hub.none');

export const errorChannel = diagnosticsChannel.channel('tsgi:hub:greenlet:error');
export const spawnChannel = diagnosticsChannel.channel('tsgi:hub:spawn');
export const blockedChannel = diagnosticsChannel.channel('tsgi:hub:blocked');

/*
 * The hub's own callbacks (link notifications, the start gate of spawned greenlets, sleep(0)
 * wake-ups, timers) must run in a context of their own, not in whichever caller happened to schedule
 * the first of a batch; so the Node immediates and timers are created inside this resource, made
 * when the module is first evaluated (the root context for ordinary imports).
 */
const hubRoot = new AsyncResource('TSGI_HUB');

export const now = (): number => performance.now();

/*
 * Node's timer functions as they were when the hub was loaded. @tsgi/monkey replaces the globals
 * with greenlet-owned ones, and the hub's own immediates and timers must never belong to whichever
 * greenlet happened to make them.
 */
const { setImmediate: nodeSetImmediate, setTimeout: nodeSetTimeout, clearTimeout: nodeClearTimeout } = globalThis;

/** The part of a greenlet the wait machinery needs; the main greenlet implements it too. */
export interface WaitOwner {
  _pending: unknown;
  /** Delivers an exception: interrupts the active hub waits, or stores it for the next one. */
  _throw(exc: unknown): void;
  _addWait(w: Wait<any>): void;
  _removeWait(w: Wait<any>): void;
}

const enum OnTimeout {
  Resolve = 1,
  Reject = 2,
}

/**
 * One blocked greenlet: at the same time a node of a WaitList (the waiters of an Event, Queue,
 * Semaphore, join) and an entry of the timer heap (sleep, or a wait with a timeout), so a parked
 * greenlet costs one small object besides its promise.
 */
export class Wait<T = unknown> implements TimerEntry {
  _deadline = 0;
  _seq = 0;
  _heapIndex = -1;
  prev: Wait<any> | null = null;
  next: Wait<any> | null = null;
  list: WaitList | null = null;
  /** Payload for the primitive (the item a putter offers). */
  value: unknown = undefined;
  cancel: (() => void) | null = null;
  timeoutKind = 0;
  timeoutValue: unknown = undefined;
  owner: WaitOwner;
  res: ((v: T) => void) | null = null;
  rej: ((e: unknown) => void) | null = null;

  constructor(owner: WaitOwner) {
    this.owner = owner;
  }

  /** Settled (resolved, rejected or abandoned): park() sets res before anyone can see the wait. */
  get done(): boolean {
    return this.res === null;
  }

  resolve(v: T): void {
    if (this.done) return;
    const res = this.res!;
    this.settle();
    res(v);
  }

  reject(e: unknown): void {
    if (this.done) return;
    const rej = this.rej!;
    this.settle();
    rej(e);
  }

  /** kill() or an expiring Timeout: unregister first, so the primitive never wakes this wait again. */
  interrupt(e: unknown): void {
    if (this.done) return;
    this.runCancel();
    this.reject(e);
  }

  /** A greenlet died with this wait still registered: drop it without settling the promise. */
  abandon(): void {
    if (this.done) return;
    this.runCancel();
    this.settle();
  }

  _fire(): void {
    if (this.done) return;
    this.runCancel();
    if (this.timeoutKind === OnTimeout.Reject) this.reject(this.timeoutValue);
    else this.resolve(this.timeoutValue as T);
  }

  private runCancel(): void {
    const cancel = this.cancel;
    if (cancel !== null) {
      this.cancel = null;
      cancel();
    }
  }

  private settle(): void {
    this.res = this.rej = null;
    this.owner._removeWait(this);
    if (this.list !== null) this.list.remove(this);
    if (this._heapIndex >= 0) hub.removeTimer(this);
  }
}

/** FIFO of parked waits with O(1) removal (a cancelled waiter leaves at once). */
export class WaitList {
  head: Wait<any> | null = null;
  tail: Wait<any> | null = null;
  length = 0;

  push(w: Wait<any>): void {
    w.list = this;
    w.prev = this.tail;
    w.next = null;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.length++;
  }

  remove(w: Wait<any>): void {
    if (w.list !== this) return;
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    w.list = null;
    this.length--;
  }

  /** Removes and returns the oldest wait (still pending: settled waits leave the list). */
  shift(): Wait<any> | null {
    const w = this.head;
    if (w !== null) this.remove(w);
    return w;
  }

  resolveAll(v: unknown): void {
    for (let w = this.shift(); w !== null; w = this.shift()) w.resolve(v);
  }
}

export type Callback = () => void;

export interface WritableLike {
  write(chunk: string): unknown;
}

/** The event loop's scheduler for greenlets (gevent's Hub). One per thread; get it with getHub(). */
export class Hub {
  /** The greenlet that stands for code running outside any spawned greenlet. */
  main!: Greenlet<any>;
  /** Greenlet failures (and link callback failures) reported so far. */
  unhandledErrors = 0;
  /** Where failures are printed, gevent's `Hub.exception_stream`. Set to null to silence. */
  exceptionStream: WritableLike | null = process.stderr;
  /** @internal */
  _monitor: BlockingMonitor | null = null;

  private readonly timers = new TimerHeap();
  private nodeTimer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private callbacks: Array<Callback | Wait<any>> = [];
  private drainScheduled = false;
  private gate: Promise<void> | null = null;
  private openGate: Callback | null = null;

  /** Timers and sleeping greenlets currently scheduled (diagnostics and tests). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Runs `cb` on the next loop turn (check phase), in the hub's context, in FIFO order. */
  callSoon(cb: Callback | Wait<any>): void {
    this.gate = null;
    this.callbacks.push(cb);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      hubRoot.runInAsyncScope(nodeSetImmediate, null, this.drain);
    }
  }

  /**
   * A promise resolved on the next loop turn that greenlets spawned in a row share, so a burst of
   * spawns costs one promise and one queue slot, not one each.
   */
  startGate(): Promise<void> {
    let gate = this.gate;
    if (gate === null) {
      let open!: Callback;
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      this.callSoon(open);
      this.gate = gate;
    }
    return gate;
  }

  private readonly drain = (): void => {
    this.drainScheduled = false;
    this.gate = null;
    const cbs = this.callbacks;
    this.callbacks = [];
    for (let i = 0; i < cbs.length; i++) {
      const cb = cbs[i];
      if (typeof cb === 'function') {
        try {
          cb();
        } catch (error) {
          this.handleError(undefined, error);
        }
      } else {
        cb.resolve(undefined);
      }
    }
  };

  addTimer(entry: TimerEntry, seconds: number): void {
    entry._deadline = now() + seconds * 1000;
    this.timers.push(entry);
    if (entry._deadline < this.armedFor) this.arm();
  }

  removeTimer(entry: TimerEntry): void {
    this.timers.remove(entry);
    // An armed Node timer with nothing left to fire would keep the process alive for nothing.
    if (this.timers.size === 0) this.disarm();
  }

  private arm(): void {
    const top = this.timers.peek();
    if (top === undefined) {
      this.disarm();
      return;
    }
    if (this.nodeTimer !== null) nodeClearTimeout(this.nodeTimer);
    this.armedFor = top._deadline;
    const delay = Math.max(0, Math.ceil(top._deadline - now()));
    this.nodeTimer = hubRoot.runInAsyncScope(nodeSetTimeout, null, this.onTimer, delay) as NodeJS.Timeout;
  }

  private disarm(): void {
    if (this.nodeTimer !== null) nodeClearTimeout(this.nodeTimer);
    this.nodeTimer = null;
    this.armedFor = Infinity;
  }

  private readonly onTimer = (): void => {
    this.nodeTimer = null;
    this.armedFor = Infinity;
    // Node's loop clock is cached and may run up to a millisecond behind performance.now().
    const limit = now() + 1;
    for (let top = this.timers.peek(); top !== undefined && top._deadline <= limit; top = this.timers.peek()) {
      this.timers.pop();
      try {
        top._fire();
      } catch (error) {
        this.handleError(undefined, error);
      }
    }
    if (this.nodeTimer === null) this.arm();
  };

  /**
   * Prints a failure the way gevent's Hub.print_exception does (the stack, then
   * `<time> <context> failed with <Type>`), counts it and publishes `tsgi:hub:greenlet:error`.
   */
  handleError(context: Greenlet<any> | string | undefined, error: unknown): void {
    this.unhandledErrors++;
    if (errorChannel.hasSubscribers) errorChannel.publish({ greenlet: typeof context === 'object' ? context : undefined, error });
    const stream = this.exceptionStream;
    if (stream === null) return;
    const text =
      error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : inspect(error, { depth: 2 });
    const type = error instanceof Error ? error.name : typeof error;
    const where = context === undefined ? '' : ` ${typeof context === 'string' ? context : context.toString()}`;
    try {
      stream.write(`${text}\n${gmctime()}${where} failed with ${type}\n\n`);
    } catch {
      // A broken exception stream must not turn one failure into a crash.
    }
  }

  /**
   * Starts the blocking detector (gevent's monitor thread): a worker thread that reports, at once
   * and on stderr, when the event loop has not turned for `maxBlockingTime` seconds, naming the
   * greenlet that last resumed. `onBlocked` (and `tsgi:hub:blocked`) fire when the loop recovers.
   * The promise resolves once the watchdog thread is running.
   */
  startMonitor(options: MonitorOptions = {}): Promise<void> {
    if (this._monitor !== null) return this._monitor.ready;
    this._monitor = startBlockingMonitor(options, (report) => {
      if (blockedChannel.hasSubscribers) blockedChannel.publish(report);
    });
    this._monitor.record(getCurrentOwner() as Greenlet<any>);
    return this._monitor.ready;
  }

  stopMonitor(): void {
    const m = this._monitor;
    this._monitor = null;
    m?.stop();
  }
}

export function gmctime(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const hub = new Hub();

/** The hub of this thread. */
export function getHub(): Hub {
  return hub;
}

export function getCurrentOwner(): WaitOwner {
  return greenletStorage.getStore() ?? hub.main;
}

/** Throws the pending exception of the current greenlet (kill or Timeout delivered while it ran). */
export function checkPending(owner: WaitOwner): void {
  const pending = owner._pending;
  if (pending !== NONE) {
    owner._pending = NONE;
    throw pending;
  }
}

/**
 * Parks the current greenlet. `setup` registers `w` with the primitive; `timeout` (seconds) settles
 * it with `timeoutValue` (resolved, or rejected when `rejectOnTimeout`). kill() and Timeout
 * interrupt it at once. A pending exception is thrown instead of parking.
 */
export function park<T>(
  setup: ((w: Wait<T>) => void) | WaitList | null,
  timeout?: number,
  timeoutValue?: unknown,
  rejectOnTimeout = false,
): Promise<T> {
  const owner = getCurrentOwner();
  const pending = owner._pending;
  if (pending !== NONE) {
    owner._pending = NONE;
    return Promise.reject(pending);
  }
  const w = new Wait<T>(owner);
  let p = new Promise<T>((res, rej) => {
    w.res = res;
    w.rej = rej;
  });
  owner._addWait(w);
  if (setup !== null) {
    if (typeof setup === 'function') setup(w);
    else setup.push(w);
  }
  if (timeout !== undefined && !w.done) {
    w.timeoutKind = rejectOnTimeout ? OnTimeout.Reject : OnTimeout.Resolve;
    w.timeoutValue = timeoutValue;
    hub.addTimer(w, timeout);
  }
  const monitor = hub._monitor;
  if (monitor !== null) {
    const g = owner as Greenlet<any>;
    p = p.then(
      (v) => {
        monitor.record(g);
        return v;
      },
      (e: unknown) => {
        monitor.record(g);
        throw e;
      },
    );
  }
  return p;
}

/**
 * The one killable wait, for code outside this package: `register(resolve, reject)` hooks the wait
 * up and returns a cancel function, called (before the rejection) when kill() or a Timeout
 * interrupts the wait, so the source no longer holds the waiter.
 */
export function waitFor<T>(
  register: (resolve: (value: T) => void, reject: (error: unknown) => void) => (() => void) | void,
): Promise<T> {
  return park<T>((w) => {
    const cancel = register(
      (v) => w.resolve(v),
      (e) => w.reject(e),
    );
    if (typeof cancel === 'function' && !w.done) w.cancel = cancel;
  });
}

/**
 * Cooperative sleep. `sleep(0)` (the default) parks the greenlet until the next loop turn's check
 * phase, so it yields to I/O and timers as well as to other greenlets.
 */
export function sleep(seconds = 0): Promise<void> {
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) {
    return Promise.reject(new InvalidArgumentError(`sleep() takes a number of seconds, got ${String(seconds)}`));
  }
  if (seconds <= 0) {
    return park<void>((w) => hub.callSoon(w));
  }
  return park<void>(null, seconds, undefined);
}
