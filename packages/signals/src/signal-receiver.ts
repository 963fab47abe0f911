import { AsyncResult, getCurrent, GreenletExit, spawn, type Greenlet } from '@tsgi/hub';
import { deliverChannel, errorChannel, type DeliverMessage, type SignalErrorMessage } from './channels.js';
import { SignalError } from './errors.js';
import { SignalTable } from './signal-table.js';
import { assertSignalNumber, isSignalNumber } from './signal-target.js';

export interface SignalReceiverOptions {
  /** This worker's table: the handlers it registered. */
  table?: SignalTable;
  workerId: number;
  log?: (line: string) => void;
  /** Called in the handler's greenlet as it starts; the server acknowledges to the master here (frees a queue slot). */
  onStart?: (num: number) => void;
}

export interface SignalReceiverStats {
  workerId: number;
  /** Signals delivered to this worker. */
  received: number;
  /** Handlers that returned (or resolved). */
  handled: number;
  /** Handlers that threw, and signals with no handler here that no signalWait consumed. */
  errors: number;
  /** Signals consumed by a signalWait without a handler. */
  consumed: number;
  /** Handler greenlets running now. */
  running: number;
}

interface Waiter {
  num: number | undefined;
  result: AsyncResult<number>;
}

/**
 * The worker side: each delivered signal runs its handler in a new greenlet, so handlers may sleep,
 * spawn and wait, and a slow one never delays requests or other handlers. A handler that throws
 * logs its stack and uWSGI's `error managing signal N on worker W`; the worker goes on.
 */
export class SignalReceiver {
  readonly table: SignalTable;
  readonly workerId: number;
  readonly #log: (line: string) => void;
  readonly #onStart: ((num: number) => void) | undefined;
  readonly #running = new Set<Greenlet<void>>();
  readonly #waiters = new Set<Waiter>();
  readonly #lastReceived = new WeakMap<object, number>();
  #received = 0;
  #handled = 0;
  #errors = 0;
  #consumed = 0;

  constructor(options: SignalReceiverOptions) {
    this.table = options.table ?? new SignalTable();
    this.workerId = options.workerId;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#onStart = options.onStart;
  }

  /**
   * Takes one signal from the master and spawns its handler's greenlet (it starts on the next loop
   * turn, never inside the caller). Wakes the signalWait() calls waiting for it. A malformed number
   * (bad bytes from IPC) is logged and counted, never thrown.
   */
  deliver(num: number): Greenlet<void> | undefined {
    if (!isSignalNumber(num)) {
      this.#errors++;
      this.#log(`[uwsgi-signal] worker ${this.workerId} received an invalid signal number: ${String(num)}`);
      return undefined;
    }
    this.#received++;
    if (deliverChannel.hasSubscribers) deliverChannel.publish({ num, workerId: this.workerId } satisfies DeliverMessage);
    let consumed = false;
    for (const waiter of this.#waiters) {
      if (waiter.num === undefined || waiter.num === num) {
        this.#waiters.delete(waiter);
        waiter.result.set(num);
        consumed = true;
      }
    }
    const g: Greenlet<void> = spawn(async () => {
      try {
        await this.#run(num, consumed);
      } finally {
        this.#running.delete(g);
      }
    });
    this.#running.add(g);
    // A greenlet killed before it started never runs the finally above.
    g.link(() => this.#running.delete(g));
    return g;
  }

  async #run(num: number, consumed: boolean): Promise<void> {
    try {
      this.#onStart?.(num);
    } catch (err) {
      this.#log(`[uwsgi-signal] acknowledging signal ${num} on worker ${this.workerId} failed: ${(err as Error)?.stack ?? String(err)}`);
    }
    const handler = this.table.get(num)?.handler;
    if (handler === undefined) {
      if (consumed) {
        this.#consumed++;
        return;
      }
      this.#fail(
        num,
        new SignalError(
          'TSGI_ERR_SIGNAL_HANDLER',
          `[uwsgi-signal] no handler for signal ${num} in worker ${this.workerId}: register it in every worker that may receive it ` +
            '(handlers live in the process that registered them)',
        ),
      );
      return;
    }
    try {
      await handler(num);
      this.#handled++;
    } catch (err) {
      if (err instanceof GreenletExit) return;
      this.#fail(num, err);
    }
  }

  #fail(num: number, error: unknown): void {
    this.#errors++;
    this.#log(error instanceof Error ? (error.stack ?? String(error)) : `${String(error)} (thrown by the handler of signal ${num})`);
    this.#log(`error managing signal ${num} on worker ${this.workerId}`);
    if (errorChannel.hasSubscribers) errorChannel.publish({ num, workerId: this.workerId, error } satisfies SignalErrorMessage);
  }

  /**
   * Waits cooperatively (a hub wait: other greenlets and requests run meanwhile; kill() interrupts
   * it) until this worker receives `num`, or any signal when `num` is omitted. Resolves with the
   * signal number, or undefined after `timeout` seconds. uWSGI's signal_wait blocks the whole worker.
   */
  async signalWait(num?: number, options: { timeout?: number } = {}): Promise<number | undefined> {
    if (num !== undefined) assertSignalNumber(num);
    const waiter: Waiter = { num, result: new AsyncResult<number>() };
    this.#waiters.add(waiter);
    try {
      await waiter.result.wait(options.timeout);
    } finally {
      this.#waiters.delete(waiter);
    }
    if (!waiter.result.ready()) return undefined;
    const received = waiter.result.value as number;
    this.#lastReceived.set(getCurrent(), received);
    return received;
  }

  /** The last signal signalWait() returned in the current greenlet (the request), as uWSGI's signal_received(). */
  signalReceived(): number | undefined {
    return this.#lastReceived.get(getCurrent());
  }

  stats(): SignalReceiverStats {
    return {
      workerId: this.workerId,
      received: this.#received,
      handled: this.#handled,
      errors: this.#errors,
      consumed: this.#consumed,
      running: this.#running.size,
    };
  }

  /** Kills the running handler greenlets (worker shutdown) and waits for their `finally` blocks. */
  async close(): Promise<void> {
    await Promise.all([...this.#running].map((g) => g.kill()));
  }
}
