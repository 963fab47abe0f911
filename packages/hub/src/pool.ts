/**
 * Group and Pool (gevent.pool): sets of greenlets that can be joined and killed together, the
 * structured alternative to independent spawns. A Pool bounds how many run at once: its `spawn`
 * waits (cooperatively and killably) for a free slot.
 */
import { Full, InvalidArgumentError, optionalSeconds } from './errors.js';
import { Event } from './event.js';
import { Greenlet, iwait, killAll, spawn, type KillOptions } from './greenlet.js';
import { GreenletList, type ReadonlyGreenletList } from './greenlet-list.js';
import { Queue } from './queue.js';
import { Semaphore } from './lock.js';
import { Timeout } from './timeout.js';

export interface GroupJoinOptions {
  timeout?: number | null;
  /** Throw the exception of the first member that fails (checked as they finish). */
  raiseError?: boolean;
}

type Task<I, R> = (item: I) => R;
type Source<I> = Iterable<I> | AsyncIterable<I>;

type Produced = { g: Greenlet<any> } | { end: true; count: number } | { error: unknown };

abstract class GreenletSet {
  /** Not a Set: a Group lives long and churns, see GreenletList. */
  private readonly members = new GreenletList();
  /** The members, alive or not yet discarded (gevent's `Group.greenlets`), read-only: add and discard change it. */
  readonly greenlets: ReadonlyGreenletList = this.members;
  private readonly emptyEvent = new Event();

  constructor() {
    this.emptyEvent.set();
  }

  /** Number of members. */
  get length(): number {
    return this.members.size;
  }

  has(g: Greenlet<any>): boolean {
    return this.members.has(g);
  }

  private readonly onDeath = (g: Greenlet<any>): void => {
    this.discard(g);
  };

  protected addMember(g: Greenlet<any>): void {
    if (!this.members.add(g)) return;
    this.emptyEvent.clear();
    g.rawlink(this.onDeath);
  }

  /** Removes a member (done automatically when it dies). */
  discard(g: Greenlet<any>): void {
    if (!this.members.delete(g)) return;
    g.unlink(this.onDeath);
    this.onDiscard();
    if (this.members.size === 0) this.emptyEvent.set();
  }

  protected onDiscard(): void {}

  /** Spawns `fn(...args)` as a member; a Pool waits for a free slot first. */
  protected abstract spawnMember(fn: (...args: any[]) => unknown, args: unknown[]): Promise<Greenlet<any>>;

  /** Resolves true when the set is empty, false after `timeout` seconds. */
  async join(options: GroupJoinOptions = {}): Promise<boolean> {
    const t = optionalSeconds(options.timeout, 'join timeout');
    if (options.raiseError) {
      for await (const g of iwait([...this.members], { timeout: t })) {
        if (!g.successful()) throw g.exception;
      }
    }
    return this.emptyEvent.wait(t);
  }

  /** Kills every member; with `block` (default) waits until they are gone or `timeout` passes. */
  async kill(options: KillOptions = {}): Promise<void> {
    const members = [...this.members];
    await killAll(members, { exception: options.exception, block: false });
    if (options.block === false) return;
    await this.emptyEvent.wait(optionalSeconds(options.timeout, 'kill timeout'));
  }

  /** Kills one member. */
  killone(g: Greenlet<any>, options: KillOptions = {}): Promise<void> {
    return this.members.has(g) ? g.kill(options) : Promise.resolve();
  }

  /** Runs `fn(...args)` in a member greenlet and returns its value (or throws its exception). */
  async apply<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    const g = await this.spawnMember(fn as (...a: any[]) => unknown, args);
    return (await g.get()) as Awaited<R>;
  }

  /** `fn` over every item, concurrently within the set's bound; results in input order. */
  async map<I, R>(fn: Task<I, R>, items: Source<I>): Promise<Awaited<R>[]> {
    const out: Awaited<R>[] = [];
    for await (const r of this.imap(fn, items)) out.push(r);
    return out;
  }

  private produce<I>(fn: Task<I, unknown>, items: Source<I>, sink: Queue<Produced>): Greenlet<void> {
    return spawn(async () => {
      let count = 0;
      try {
        for await (const item of items) {
          const g = await this.spawnMember(fn as (...a: any[]) => unknown, [item]);
          count++;
          sink.putNowait({ g });
        }
        sink.putNowait({ end: true, count });
      } catch (error) {
        sink.putNowait({ error });
      }
    });
  }

  /** Like map, as an async iterator yielding results in input order as they become available. */
  async *imap<I, R>(fn: Task<I, R>, items: Source<I>): AsyncGenerator<Awaited<R>, void, undefined> {
    const spawned = new Queue<Produced>();
    const producer = this.produce(fn, items, spawned);
    try {
      for (;;) {
        const next = await spawned.get();
        if ('error' in next) throw next.error;
        if ('end' in next) return;
        yield (await next.g.get()) as Awaited<R>;
      }
    } finally {
      if (!producer.dead) void producer.kill({ block: false });
    }
  }

  /** Like imap, yielding each result as soon as its greenlet finishes. */
  async *imapUnordered<I, R>(fn: Task<I, R>, items: Source<I>): AsyncGenerator<Awaited<R>, void, undefined> {
    // One queue carries both the producer's news and the completions, so one wait covers both.
    const events = new Queue<Produced | { done: Greenlet<any> }>();
    const onDone = (g: Greenlet<any>): void => events.putNowait({ done: g });
    const producer = this.produce(fn, items, events as Queue<Produced>);
    let total = -1;
    let received = 0;
    try {
      while (total !== received) {
        const ev = await events.get();
        if ('error' in ev) throw ev.error;
        if ('end' in ev) total = ev.count;
        else if ('g' in ev) ev.g.rawlink(onDone);
        else {
          received++;
          if (!ev.done.successful()) throw ev.done.exception;
          yield ev.done.value as Awaited<R>;
        }
      }
    } finally {
      if (!producer.dead) void producer.kill({ block: false });
    }
  }
}

/** An unbounded set of greenlets. */
export class Group extends GreenletSet {
  constructor(greenlets: Iterable<Greenlet<any>> = []) {
    super();
    for (const g of greenlets) this.add(g);
  }

  add(g: Greenlet<any>): void {
    this.addMember(g);
  }

  /** Spawns a member greenlet (starts on the next loop turn). */
  spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Greenlet<Awaited<R>> {
    const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => any, ...args);
    this.addMember(g);
    g.start();
    return g;
  }

  protected spawnMember(fn: (...args: any[]) => unknown, args: unknown[]): Promise<Greenlet<any>> {
    return Promise.resolve(this.spawn(fn, ...args));
  }

  /** Group has no bound. */
  full(): boolean {
    return false;
  }
}

/** A Group of at most `size` greenlets. */
export class Pool extends GreenletSet {
  /** The bound. */
  readonly size: number;
  private readonly slots: Semaphore;

  constructor(size: number) {
    super();
    if (!Number.isInteger(size) || size < 1) {
      throw new InvalidArgumentError(`Pool size must be an integer >= 1, got ${String(size)}`);
    }
    this.size = size;
    this.slots = new Semaphore(size);
  }

  /**
   * Adds a greenlet, waiting for a free slot. Throws `Full` when not blocking and the pool is full,
   * a `Timeout` when no slot frees within `timeout` seconds.
   */
  async add(g: Greenlet<any>, options: { blocking?: boolean; timeout?: number | null } = {}): Promise<void> {
    if (this.has(g)) return;
    const t = optionalSeconds(options.timeout, 'Pool.add timeout');
    if (!(await this.slots.acquire({ blocking: options.blocking, timeout: t }))) {
      if (options.blocking === false) throw new Full(`Pool of ${this.size} is full: wait with add(g) or raise the size`);
      throw new Timeout(t);
    }
    this.addMember(g);
  }

  /** Waits (killably) for a free slot, then spawns a member greenlet. */
  async spawn<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Greenlet<Awaited<R>>> {
    await this.slots.acquire();
    const g = new Greenlet<Awaited<R>>(fn as (...a: any[]) => any, ...args);
    this.addMember(g);
    g.start();
    return g;
  }

  protected spawnMember(fn: (...args: any[]) => unknown, args: unknown[]): Promise<Greenlet<any>> {
    return this.spawn(fn, ...args);
  }

  protected override onDiscard(): void {
    this.slots.release();
  }

  /** Slots free right now (gevent's `free_count()`). */
  freeCount(): number {
    return this.slots.value;
  }

  full(): boolean {
    return this.freeCount() <= 0;
  }

  /** Resolves the number of free slots once at least one is free, or after `timeout` seconds. */
  async waitAvailable(timeout?: number | null): Promise<number> {
    if (await this.slots.acquire({ timeout })) this.slots.release();
    return this.freeCount();
  }
}
