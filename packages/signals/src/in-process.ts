import type { SignalClock } from './clock.js';
import { PostforkRegistry } from './postfork.js';
import { createSignalApi, type SignalApi, type SignalTransport } from './signal-api.js';
import { createSignalDecorators, type SignalDecorators } from './signal-decorators.js';
import { SignalMaster, type SignalRaiseResult } from './signal-master.js';
import type { SignalQueuePolicy } from './signal-queue.js';
import { SignalReceiver } from './signal-receiver.js';
import type { AddSourceResult, SignalSourceSpec } from './signal-sources.js';
import type { WorkerSignalState } from './routing.js';

/** A transport that calls a SignalMaster living in the same process: no IPC, same semantics. */
export class InProcessTransport implements SignalTransport {
  readonly workerId: number;
  readonly #master: SignalMaster;

  constructor(master: SignalMaster, workerId: number) {
    this.#master = master;
    this.workerId = workerId;
  }

  async register(num: number, target: string): Promise<void> {
    this.#master.register(num, target, this.workerId);
  }

  raise(num: number): Promise<SignalRaiseResult> {
    // With the block policy, resolve once every held copy has gone out, as a blocking write would.
    let released = false;
    let release: () => void = () => {};
    const sent = new Promise<void>((resolve) => {
      release = resolve;
      if (released) resolve();
    });
    const result = this.#master.raise(num, `worker ${this.workerId}`, () => {
      released = true;
      release();
    });
    return sent.then(() => result);
  }

  async addSource(spec: SignalSourceSpec): Promise<AddSourceResult> {
    return this.#master.addSource(spec);
  }
}

export interface InProcessWorker {
  readonly id: number;
  readonly receiver: SignalReceiver;
  readonly transport: InProcessTransport;
  readonly api: SignalApi;
  readonly decorators: SignalDecorators;
}

export interface InProcessSignalsOptions {
  /** How many simulated workers (receivers) share the master; default 1. */
  workers?: number;
  log?: (line: string) => void;
  clock?: SignalClock;
  queueSize?: number;
  queuePolicy?: SignalQueuePolicy;
}

export interface InProcessSignals {
  readonly master: SignalMaster;
  readonly workers: readonly InProcessWorker[];
  /** Worker 1's API, for the common single-process case. */
  readonly api: SignalApi;
  /** Worker 1's decorators. */
  readonly decorators: SignalDecorators;
  /** Changes what the master's routing sees for a worker (alive, active, free cores...). */
  setWorkerState(id: number, state: Partial<Omit<WorkerSignalState, 'id'>>): void;
  /** Stops every source and kills running handlers. */
  close(): Promise<void>;
}

/**
 * The whole signal framework in one process: a master (table, routing, sources, queues) and N
 * receivers, each with its API. Usable without processes, and the reference the server's IPC
 * transport must behave like.
 */
export function createInProcessSignals(options: InProcessSignalsOptions = {}): InProcessSignals {
  const count = Math.max(1, Math.floor(options.workers ?? 1));
  const states: WorkerSignalState[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    pid: process.pid,
    alive: true,
    active: true,
    busyCores: 0,
    freeCores: 1,
  }));
  const receivers = new Map<number, SignalReceiver>();
  const master = new SignalMaster({
    workers: () => states,
    send: (workerId, num) => receivers.get(workerId)?.deliver(num),
    log: options.log,
    clock: options.clock,
    queueSize: options.queueSize,
    queuePolicy: options.queuePolicy,
  });
  const postforkRegistry = new PostforkRegistry({ log: options.log });
  const workers = states.map(({ id }): InProcessWorker => {
    const receiver = new SignalReceiver({ workerId: id, log: options.log, onStart: () => master.ack(id) });
    receivers.set(id, receiver);
    const transport = new InProcessTransport(master, id);
    const api = createSignalApi({ transport, receiver, log: options.log });
    return { id, receiver, transport, api, decorators: createSignalDecorators(api, { postforkRegistry }) };
  });
  return {
    master,
    workers,
    api: workers[0]!.api,
    decorators: workers[0]!.decorators,
    setWorkerState(id, state) {
      const s = states.find((w) => w.id === id);
      if (s) Object.assign(s, state);
    },
    async close() {
      master.close();
      await Promise.all(workers.map((w) => w.receiver.close()));
    },
  };
}
