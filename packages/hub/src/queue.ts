/**
 * Queues (gevent.queue): Queue (FIFO), LifoQueue, PriorityQueue, JoinableQueue and Channel (a
 * rendezvous: put waits for a get). Items go straight to a waiting getter, and a get refills the
 * queue from the oldest waiting putter, so neither side can be overtaken or woken for nothing.
 */
import { Empty, Full, HubError, InvalidArgumentError, optionalSeconds } from './errors.js';
import { Event } from './event.js';
import { NONE, WaitList, checkPending, getCurrentOwner, park } from './hub.js';

export interface QueueOptions {
  /** Wait when full/empty (default true); false throws Full/Empty at once. */
  block?: boolean;
  /** Give up after this many seconds and throw Full/Empty. */
  timeout?: number | null;
}

function fastPath(): void {
  checkPending(getCurrentOwner());
}

export class Queue<T = unknown> {
  /** Capacity; Infinity when unbounded (maxsize null, undefined or 0, as in gevent >= 1.1). */
  readonly maxsize: number;
  protected items: T[] = [];
  protected head = 0;
  protected readonly getters = new WaitList();
  protected readonly putters = new WaitList();
  /** peek() waiters: woken when an item is stored, they never take it. */
  protected readonly peekers = new WaitList();

  constructor(maxsize?: number | null) {
    if (maxsize !== undefined && maxsize !== null && (!Number.isInteger(maxsize) || maxsize < 0)) {
      throw new InvalidArgumentError(`queue maxsize must be an integer >= 0 or null, got ${String(maxsize)}`);
    }
    this.maxsize = maxsize ? maxsize : Infinity;
  }

  // Storage hooks, overridden by LifoQueue and PriorityQueue.
  protected _put(item: T): void {
    this.items.push(item);
  }

  protected _get(): T {
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  protected _peek(): T {
    return this.items[this.head];
  }

  qsize(): number {
    return this.items.length - this.head;
  }

  empty(): boolean {
    return this.qsize() === 0;
  }

  full(): boolean {
    return this.qsize() >= this.maxsize;
  }

  /** Putters minus getters waiting right now (gevent's Channel.balance, useful on any queue). */
  get balance(): number {
    return this.putters.length - this.getters.length;
  }

  /** Hands the item to a waiting getter or stores it; false when there is no room. */
  private offer(item: T): boolean {
    if (this.qsize() === 0) {
      const getter = this.getters.shift();
      if (getter !== null) {
        getter.resolve(item);
        this.onPut();
        return true;
      }
    }
    if (this.qsize() < this.maxsize) {
      this._put(item);
      this.onPut();
      if (this.peekers.length > 0) this.peekers.resolveAll(undefined);
      return true;
    }
    return false;
  }

  /** Takes an item from storage or a waiting putter; NONE when there is none. */
  private take(): T | typeof NONE {
    if (this.qsize() > 0) {
      const item = this._get();
      const putter = this.putters.shift();
      if (putter !== null) {
        this._put(putter.value as T);
        this.onPut();
        putter.resolve(undefined);
      }
      return item;
    }
    const putter = this.putters.shift();
    if (putter !== null) {
      const item = putter.value as T;
      this.onPut();
      putter.resolve(undefined);
      return item;
    }
    return NONE;
  }

  /** @internal Called once per item accepted (JoinableQueue counts unfinished tasks). */
  protected onPut(): void {}

  /** Puts an item, waiting while the queue is full; throws Full on timeout or when not blocking. */
  put(item: T, options: QueueOptions = {}): Promise<void> {
    const t = optionalSeconds(options.timeout, 'put timeout');
    try {
      fastPath();
      if (this.offer(item)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.block === false) return Promise.reject(new Full());
    return park<void>(
      (w) => {
        w.value = item;
        this.putters.push(w);
      },
      t,
      t === undefined ? undefined : new Full(),
      true,
    );
  }

  putNowait(item: T): void {
    if (!this.offer(item)) throw new Full();
  }

  /** Removes and returns an item, waiting while empty; throws Empty on timeout or when not blocking. */
  get(options: QueueOptions = {}): Promise<T> {
    const t = optionalSeconds(options.timeout, 'get timeout');
    try {
      fastPath();
      const item = this.take();
      if (item !== NONE) return Promise.resolve(item);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.block === false) return Promise.reject(new Empty());
    return park<T>(this.getters, t, t === undefined ? undefined : new Empty(), true);
  }

  getNowait(): T {
    const item = this.take();
    if (item === NONE) throw new Empty();
    return item;
  }

  /** Returns the next item without removing it, waiting while empty. */
  async peek(options: QueueOptions = {}): Promise<T> {
    const t = optionalSeconds(options.timeout, 'peek timeout');
    const deadline = t === undefined ? undefined : performance.now() + t * 1000;
    fastPath();
    while (this.qsize() === 0) {
      if (options.block === false) throw new Empty();
      const remaining = deadline === undefined ? undefined : Math.max(0, (deadline - performance.now()) / 1000);
      await park<void>(this.peekers, remaining, remaining === undefined ? undefined : new Empty(), true);
    }
    return this._peek();
  }

  peekNowait(): T {
    if (this.qsize() === 0) throw new Empty();
    return this._peek();
  }

  /** Iterates forever, getting one item per step (gevent's `for item in queue`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) yield await this.get();
  }
}

/** Last in, first out. */
export class LifoQueue<T = unknown> extends Queue<T> {
  protected override _get(): T {
    return this.items.pop() as T;
  }

  protected override _peek(): T {
    return this.items[this.items.length - 1];
  }
}

export type Compare<T> = (a: T, b: T) => number;

/** Orders like Python: numbers and strings naturally, arrays (tuples) element by element. */
export function pythonCompare(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = pythonCompare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Lowest first (a binary heap); pass `compare` for other orders. */
export class PriorityQueue<T = unknown> extends Queue<T> {
  private readonly compare: Compare<T>;

  constructor(maxsize?: number | null, compare: Compare<T> = pythonCompare) {
    super(maxsize);
    this.compare = compare;
  }

  protected override _put(item: T): void {
    const h = this.items;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.compare(h[p], item) <= 0) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = item;
  }

  protected override _get(): T {
    const h = this.items;
    const top = h[0];
    const last = h.pop() as T;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && this.compare(h[r], h[l]) < 0 ? r : l;
        if (this.compare(h[c], last) >= 0) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  protected override _peek(): T {
    return this.items[0];
  }
}

/** gevent's JoinableQueue: `taskDone()` per item got, `join()` until all are done. */
export class JoinableQueue<T = unknown> extends Queue<T> {
  private unfinished = 0;
  private readonly finished = new Event();

  constructor(maxsize?: number | null) {
    super(maxsize);
    this.finished.set();
  }

  get unfinishedTasks(): number {
    return this.unfinished;
  }

  protected override onPut(): void {
    this.unfinished++;
    this.finished.clear();
  }

  /** Marks one item as processed; throws when called more often than items were put. */
  taskDone(): void {
    if (this.unfinished <= 0) {
      throw new HubError('TSGI_ERR_HUB_TASK_DONE_TOO_MANY', 'task_done() called too many times: call it once per item got');
    }
    if (--this.unfinished === 0) this.finished.set();
  }

  /** Resolves true when every item put has been marked done, false after `timeout` seconds. */
  join(timeout?: number | null): Promise<boolean> {
    return this.finished.wait(timeout);
  }
}

/**
 * A rendezvous: put() waits until a getter takes the item (gevent.queue.Channel). As in gevent,
 * `qsize()` is always 0 and both `full()` and `empty()` are true; `balance` tells who is waiting.
 */
export class Channel<T = unknown> extends Queue<T> {
  constructor() {
    super(null);
    (this as { maxsize: number }).maxsize = 0;
  }
}
