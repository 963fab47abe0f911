import { raiseChannel, type RaiseMessage } from './channels.js';
import type { SignalClock } from './clock.js';
import { SignalError } from './errors.js';
import { routeSignal, type WorkerSignalState } from './routing.js';
import { SignalQueue, type SignalQueuePolicy, type SignalQueueStats } from './signal-queue.js';
import { SignalSources, type AddSourceResult, type SignalSourceSpec } from './signal-sources.js';
import { SignalTable, type RegisterOutcome } from './signal-table.js';
import { assertSignalNumber, formatSignalTarget, parseSignalTarget } from './signal-target.js';

export interface SignalMasterOptions {
  /** The current state of every worker slot (live or not); its length is the number of workers. */
  workers: () => readonly WorkerSignalState[];
  /** Hands one signal to one worker (IPC in the server, a direct call in process). */
  send: (workerId: number, num: number) => void;
  log?: (line: string) => void;
  clock?: SignalClock;
  /** Per-worker queue size in signals (uWSGI's --signal-bufsize); default 1024. */
  queueSize?: number;
  queuePolicy?: SignalQueuePolicy;
}

export interface SignalRaiseResult {
  num: number;
  registered: boolean;
  /** The workers the route chose. */
  workerIds: number[];
  sent: number;
  queued: number;
  dropped: number;
  /** True when every chosen worker got (or will get) it and at least one was chosen: the remote reply "delivered". */
  accepted: boolean;
}

export interface SignalMasterStats {
  /** uWSGI's `routed_signals` / `unrouted_signals`. */
  routed: number;
  unrouted: number;
  /** Raises of numbers nobody registered. */
  unregistered: number;
  queues: SignalQueueStats[];
}

/**
 * The master side of the signal framework: the authoritative table, the event sources and the
 * per-worker queues. The server feeds it what workers send over IPC and gives it `send`; the
 * in-process transport calls it directly.
 */
export class SignalMaster {
  readonly table = new SignalTable();
  readonly sources: SignalSources;
  readonly #workers: () => readonly WorkerSignalState[];
  readonly #send: (workerId: number, num: number) => void;
  readonly #log: (line: string) => void;
  readonly #queues = new Map<number, SignalQueue>();
  readonly #queueSize: number | undefined;
  readonly #queuePolicy: SignalQueuePolicy | undefined;
  #routed = 0;
  #unrouted = 0;
  #unregistered = 0;

  constructor(options: SignalMasterOptions) {
    this.#workers = options.workers;
    this.#send = options.send;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#queueSize = options.queueSize;
    this.#queuePolicy = options.queuePolicy;
    this.sources = new SignalSources({
      raise: (num, origin) => {
        this.raise(num, origin);
      },
      clock: options.clock,
      log: this.#log,
    });
  }

  /**
   * Records a registration made by `workerId` (0 = the master). Throws SignalError for a bad number
   * or target, a `workerN` beyond the number of workers, or a re-registration by the master.
   */
  register(num: number, receiver: string, workerId: number): RegisterOutcome {
    assertSignalNumber(num);
    const target = parseSignalTarget(receiver);
    const workers = this.#workers();
    if (target.kind === 'worker' && workers.length > 0 && !workers.some((w) => w.id === target.id)) {
      throw new SignalError(
        'TSGI_ERR_SIGNAL_TARGET_UNKNOWN',
        `invalid signal target: worker${target.id} (this instance has ${workers.length} worker${workers.length === 1 ? '' : 's'})`,
      );
    }
    const outcome = this.table.register(num, receiver ?? '', workerId);
    if (outcome.retargeted) {
      this.#log(
        `[uwsgi-signal] signum ${num} re-registered by worker ${workerId}: target "${outcome.previousReceiver}" replaced by "${receiver ?? ''}"`,
      );
    }
    this.#log(`[uwsgi-signal] signum ${num} registered (wid: ${workerId} modifier1: 0 target: ${formatSignalTarget(target)})`);
    return outcome;
  }

  /** Routes `num` to its target workers through their queues. `origin` says who raised it, for logs and diagnostics. */
  raise(num: number, origin = 'master', onSent?: () => void): SignalRaiseResult {
    assertSignalNumber(num);
    const entry = this.table.get(num);
    const workers = this.#workers().map((w) => ({ ...w, pending: this.#queues.get(w.id)?.pending ?? 0 }));
    if (!entry) {
      this.#unregistered++;
      this.#log(
        `[uwsgi-signal] signal ${num} raised by ${origin} is not registered: sending it to one worker, where only signalWait() can consume it ` +
          `(register it with registerSignal(${num}, target, handler))`,
      );
    }
    const route = routeSignal(num, entry, workers);
    for (const line of route.problems) this.#log(line);
    const result: SignalRaiseResult = {
      num,
      registered: entry !== undefined,
      workerIds: route.workerIds,
      sent: 0,
      queued: 0,
      dropped: 0,
      accepted: false,
    };
    let waitingFor = 0;
    const sentOne = onSent
      ? () => {
          if (--waitingFor === 0) onSent();
        }
      : undefined;
    for (const id of route.workerIds) {
      const status = this.#queue(id).push(num, sentOne);
      if (status === 'sent') result.sent++;
      else if (status === 'queued') {
        result.queued++;
        waitingFor++;
      } else result.dropped++;
    }
    this.#routed += result.sent + result.queued;
    this.#unrouted += result.dropped + route.problems.length;
    result.accepted = route.workerIds.length > 0 && result.dropped === 0;
    if (onSent && waitingFor === 0) onSent();
    if (raiseChannel.hasSubscribers) {
      raiseChannel.publish({ num, origin, registered: result.registered, workerIds: route.workerIds } satisfies RaiseMessage);
    }
    return result;
  }

  /** Adds a timer, rb-timer, file monitor or cron, idempotently (identical sources are one source). */
  addSource(spec: SignalSourceSpec): AddSourceResult {
    return this.sources.add(spec);
  }

  /** The worker started the handler of one signal it was sent: frees a queue slot. */
  ack(workerId: number, count = 1): void {
    this.#queues.get(workerId)?.ack(count);
  }

  /** The worker process exited: its in-flight signals are lost. */
  workerExited(workerId: number): void {
    this.#queues.get(workerId)?.reset();
  }

  /** A (re)spawned worker is reading signals: held signals (block policy) go out. */
  workerStarted(workerId: number): void {
    this.#queues.get(workerId)?.ack(0);
  }

  stats(): SignalMasterStats {
    return {
      routed: this.#routed,
      unrouted: this.#unrouted,
      unregistered: this.#unregistered,
      queues: [...this.#queues.values()].map((q) => q.stats()),
    };
  }

  close(): void {
    this.sources.close();
  }

  #queue(workerId: number): SignalQueue {
    let q = this.#queues.get(workerId);
    if (!q) {
      q = new SignalQueue({
        workerId,
        capacity: this.#queueSize,
        policy: this.#queuePolicy,
        send: (num) => this.#send(workerId, num),
        log: this.#log,
      });
      this.#queues.set(workerId, q);
    }
    return q;
  }
}
