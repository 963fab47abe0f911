/**
 * Event and AsyncResult (gevent.event): one-shot notification objects greenlets wait on. Waiters
 * resume in FIFO order; rawlink callbacks run in the hub on the next loop turn.
 */
import { optionalSeconds } from './errors.js';
import { WaitList, checkPending, getCurrentOwner, getHub, park } from './hub.js';
import { Timeout } from './timeout.js';

type RawLink<S> = (source: S) => void;

/** Shared link bookkeeping: callbacks fire in the hub after the object becomes ready. */
abstract class Linkable<S> {
  protected waiters = new WaitList();
  private links: RawLink<S>[] = [];
  private notifying = false;

  abstract ready(): boolean;

  rawlink(cb: RawLink<S>): void {
    this.links.push(cb);
    if (this.ready()) this.scheduleLinks();
  }

  unlink(cb: RawLink<S>): void {
    const i = this.links.indexOf(cb);
    if (i >= 0) this.links.splice(i, 1);
  }

  protected scheduleLinks(): void {
    if (this.notifying || this.links.length === 0) return;
    this.notifying = true;
    getHub().callSoon(() => {
      this.notifying = false;
      // Links added while notifying are notified too; an object cleared meanwhile stops the round.
      while (this.links.length > 0 && this.ready()) {
        const cb = this.links.shift()!;
        try {
          cb(this as unknown as S);
        } catch (error) {
          getHub().handleError(`link ${cb.name || 'callback'} of ${this.constructor.name}`, error);
        }
      }
    });
  }
}

export class Event extends Linkable<Event> {
  private flag = false;

  isSet(): boolean {
    return this.flag;
  }

  ready(): boolean {
    return this.flag;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    if (this.flag) return;
    this.flag = true;
    this.waiters.resolveAll(true);
    this.scheduleLinks();
  }

  clear(): void {
    this.flag = false;
  }

  /** Resolves true once set, or false after `timeout` seconds. */
  wait(timeout?: number | null): Promise<boolean> {
    const t = optionalSeconds(timeout, 'Event.wait timeout');
    if (this.flag) {
      try {
        checkPending(getCurrentOwner());
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve(true);
    }
    return park<boolean>(this.waiters, t, false);
  }
}

export interface AsyncResultGetOptions {
  block?: boolean;
  timeout?: number | null;
}

/** A one-time value or exception that greenlets can wait for (gevent.event.AsyncResult). */
export class AsyncResult<T = unknown> extends Linkable<AsyncResult<T>> {
  private state = 0; // 0 pending, 1 value, 2 exception
  private _value: T | undefined = undefined;
  private _exception: unknown = undefined;

  get value(): T | undefined {
    return this._value;
  }

  get exception(): unknown {
    return this._exception;
  }

  ready(): boolean {
    return this.state !== 0;
  }

  successful(): boolean {
    return this.state === 1;
  }

  set(value: T): void {
    this._value = value;
    this._exception = undefined;
    this.state = 1;
    this.waiters.resolveAll(true);
    this.scheduleLinks();
  }

  setException(error: unknown): void {
    this._exception = error;
    this._value = undefined;
    this.state = 2;
    this.waiters.resolveAll(true);
    this.scheduleLinks();
  }

  /** The value, or throws the exception; waits unless `block` is false; `Timeout` when not ready in time. */
  async get(options: AsyncResultGetOptions = {}): Promise<T> {
    if (this.state === 0) {
      const t = optionalSeconds(options.timeout, 'AsyncResult.get timeout');
      if (options.block === false) throw new Timeout(t);
      await park<boolean>(this.waiters, t, t === undefined ? undefined : new Timeout(t), true);
    } else {
      checkPending(getCurrentOwner());
    }
    if (this.state === 2) throw this._exception;
    return this._value as T;
  }

  getNowait(): T {
    if (this.state === 0) throw new Timeout();
    if (this.state === 2) throw this._exception;
    return this._value as T;
  }

  /** Waits until ready (or timeout) and returns the value without throwing the exception. */
  async wait(timeout?: number | null): Promise<T | undefined> {
    const t = optionalSeconds(timeout, 'AsyncResult.wait timeout');
    if (this.state === 0) await park<boolean>(this.waiters, t, false);
    return this._value;
  }
}
