/**
 * Every error the hub throws carries a stable `code`. `GreenletExit` and `Timeout` are thrown *into*
 * greenlets (like gevent's BaseException subclasses); the others report misuse.
 */

export class HubError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown into a greenlet by `kill()`. A greenlet that ends with it counts as successful, and its
 * `value` is the GreenletExit instance (gevent semantics).
 */
export class GreenletExit extends HubError {
  constructor(message = 'greenlet killed') {
    super('TSGI_ERR_HUB_GREENLET_EXIT', message);
  }
}

/** `putNowait()` (or a `put()` whose timeout expired) on a full queue. Python's `queue.Full`. */
export class Full extends HubError {
  constructor(message = 'queue is full: wait with put(item) or raise maxsize') {
    super('TSGI_ERR_HUB_QUEUE_FULL', message);
  }
}

/** `getNowait()` (or a `get()` whose timeout expired) on an empty queue. Python's `queue.Empty`. */
export class Empty extends HubError {
  constructor(message = 'queue is empty: wait with get() or check qsize() first') {
    super('TSGI_ERR_HUB_QUEUE_EMPTY', message);
  }
}

/** A seconds value, size or option that cannot be used. */
export class InvalidArgumentError extends HubError {
  constructor(message: string) {
    super('TSGI_ERR_HUB_INVALID_ARGUMENT', message);
  }
}

/** `BoundedSemaphore.release()` beyond its initial value (gevent: "Semaphore released too many times"). */
export class SemaphoreOverReleaseError extends HubError {
  constructor() {
    super(
      'TSGI_ERR_HUB_SEMAPHORE_OVER_RELEASE',
      'Semaphore released too many times: release() must pair with a successful acquire()',
    );
  }
}

/** `RLock.release()` by a greenlet that does not own it (Python: "cannot release un-acquired lock"). */
export class LockNotOwnedError extends HubError {
  constructor() {
    super(
      'TSGI_ERR_HUB_LOCK_NOT_OWNED',
      'cannot release un-acquired lock: only the greenlet that acquired an RLock may release it',
    );
  }
}

/** A greenlet operation that its state forbids (starting twice, killing the main greenlet). */
export class GreenletStateError extends HubError {
  constructor(message: string) {
    super('TSGI_ERR_HUB_GREENLET_STATE', message);
  }
}

/** Checks a seconds value from the public API. `null`/`undefined` mean "no limit" where allowed. */
export function checkSeconds(value: unknown, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidArgumentError(`${what} must be a number of seconds, got ${String(value)}`);
  }
  return value < 0 ? 0 : value;
}

export function optionalSeconds(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : checkSeconds(value, what);
}
