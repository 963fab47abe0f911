/**
 * Semaphore, BoundedSemaphore, Lock and RLock (gevent.lock). A release hands the permit straight to
 * the oldest waiter, so a greenlet arriving later cannot overtake it, and a waiter interrupted by
 * kill() or a Timeout leaves the queue before it could be granted anything.
 */
import { InvalidArgumentError, LockNotOwnedError, SemaphoreOverReleaseError, optionalSeconds } from './errors.js';
import { WaitList, checkPending, getCurrentOwner, park, type WaitOwner } from './hub.js';

export interface AcquireOptions {
  /** Wait for a permit (default true); false returns at once. */
  blocking?: boolean;
  /** Give up after this many seconds and resolve false. */
  timeout?: number | null;
}

export class Semaphore {
  protected counter: number;
  protected readonly waiters = new WaitList();

  constructor(value = 1) {
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidArgumentError(`semaphore initial value must be an integer >= 0, got ${String(value)}`);
    }
    this.counter = value;
  }

  /** Permits currently available. */
  get value(): number {
    return this.counter;
  }

  locked(): boolean {
    return this.counter <= 0;
  }

  /** Resolves true once a permit is taken, false on timeout or when not blocking and none is free. */
  acquire(options: AcquireOptions = {}): Promise<boolean> {
    const t = optionalSeconds(options.timeout, 'acquire timeout');
    if (this.counter > 0 && this.waiters.length === 0) {
      try {
        checkPending(getCurrentOwner());
      } catch (error) {
        return Promise.reject(error);
      }
      this.counter--;
      return Promise.resolve(true);
    }
    if (options.blocking === false) return Promise.resolve(false);
    return park<boolean>(this.waiters, t, false);
  }

  /** Returns a permit: to the oldest waiter if there is one. Returns the new counter. */
  release(): number {
    const w = this.waiters.shift();
    if (w !== null) w.resolve(true);
    else this.counter++;
    return this.counter;
  }

  /** Acquires, runs `fn`, and releases even if it throws (Python's `with sem:`). */
  async hold<R>(fn: () => R | PromiseLike<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/** A Semaphore whose release() beyond the initial value throws SemaphoreOverReleaseError. */
export class BoundedSemaphore extends Semaphore {
  private readonly initial: number;

  constructor(value = 1) {
    super(value);
    this.initial = value;
  }

  override release(): number {
    if (this.waiters.length === 0 && this.counter >= this.initial) throw new SemaphoreOverReleaseError();
    return super.release();
  }
}

/** A mutex: a BoundedSemaphore(1). */
export class Lock extends BoundedSemaphore {
  constructor() {
    super(1);
  }
}

/** A re-entrant lock owned by the greenlet that acquired it. */
export class RLock {
  private readonly block = new Semaphore(1);
  private owner: WaitOwner | null = null;
  private count = 0;

  locked(): boolean {
    return this.count > 0;
  }

  /** True when the current greenlet holds the lock. */
  isOwned(): boolean {
    return this.owner === getCurrentOwner();
  }

  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    const me = getCurrentOwner();
    if (this.owner === me) {
      checkPending(me);
      this.count++;
      return true;
    }
    if (!(await this.block.acquire(options))) return false;
    this.owner = me;
    this.count = 1;
    return true;
  }

  release(): void {
    if (this.owner !== getCurrentOwner() || this.count === 0) throw new LockNotOwnedError();
    if (--this.count === 0) {
      this.owner = null;
      this.block.release();
    }
  }

  async hold<R>(fn: () => R | PromiseLike<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
