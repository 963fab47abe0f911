/** What a full queue does with one more signal: `drop` it (uWSGI) or hold it until the worker catches up (`block`). */
export type SignalQueuePolicy = 'drop' | 'block';

export type SignalQueueStatus = 'sent' | 'queued' | 'dropped';

export interface SignalQueueOptions {
  workerId: number;
  /** Signals sent to the worker whose handler has not started yet; uWSGI's --signal-bufsize, one byte per signal. */
  capacity?: number;
  policy?: SignalQueuePolicy;
  send: (num: number) => void;
  log?: (line: string) => void;
}

export interface SignalQueueStats {
  workerId: number;
  capacity: number;
  policy: SignalQueuePolicy;
  /** In flight: sent, handler not started. */
  pending: number;
  /** Held back by the `block` policy. */
  waiting: number;
  sent: number;
  dropped: number;
}

export const DEFAULT_SIGNAL_QUEUE_SIZE = 1024;

/**
 * The bounded queue between the master and one worker. A slot is taken when a signal is sent and
 * freed by ack() when the worker starts its handler, so a stalled worker fills it up. With `drop`
 * the overflow is dropped and logged with uWSGI's text; with `block` up to `capacity` more signals
 * wait in order and go out as slots free, beyond that they are dropped too.
 */
export class SignalQueue {
  readonly workerId: number;
  readonly capacity: number;
  readonly policy: SignalQueuePolicy;
  readonly #send: (num: number) => void;
  readonly #log: (line: string) => void;
  readonly #waiting: { num: number; onSent: (() => void) | undefined }[] = [];
  #pending = 0;
  #sent = 0;
  #dropped = 0;

  constructor(options: SignalQueueOptions) {
    this.workerId = options.workerId;
    this.capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_SIGNAL_QUEUE_SIZE));
    this.policy = options.policy ?? 'drop';
    this.#send = options.send;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  get pending(): number {
    return this.#pending;
  }

  /** Sends `num` now if a slot is free; otherwise applies the policy. `onSent` runs when a held signal finally goes out. */
  push(num: number, onSent?: () => void): SignalQueueStatus {
    if (this.#pending < this.capacity && this.#waiting.length === 0) {
      this.#transmit(num);
      return 'sent';
    }
    if (this.policy === 'block' && this.#waiting.length < this.capacity) {
      this.#waiting.push({ num, onSent });
      return 'queued';
    }
    this.#dropped++;
    this.#log(
      `*** SIGNAL QUEUE IS FULL: buffer size ${this.capacity} bytes (you can tune it with --signal-bufsize) *** ` +
        `signal ${num} to worker ${this.workerId} dropped`,
    );
    return 'dropped';
  }

  /** The worker started a handler: one slot frees, and the oldest held signal (block policy) goes out. */
  ack(count = 1): void {
    this.#pending = Math.max(0, this.#pending - count);
    while (this.#pending < this.capacity && this.#waiting.length > 0) {
      const next = this.#waiting.shift()!;
      this.#transmit(next.num);
      next.onSent?.();
    }
  }

  /** The worker process is gone: what it had in flight is lost, held signals stay for its successor. */
  reset(): void {
    this.#pending = 0;
  }

  stats(): SignalQueueStats {
    return {
      workerId: this.workerId,
      capacity: this.capacity,
      policy: this.policy,
      pending: this.#pending,
      waiting: this.#waiting.length,
      sent: this.#sent,
      dropped: this.#dropped,
    };
  }

  #transmit(num: number): void {
    this.#pending++;
    this.#sent++;
    this.#send(num);
  }
}
