import { deserializeSignalError, type AddSourceResult, type SignalRaiseResult, type SignalSourceSpec, type SignalTransport } from '@tsgi/signals';
import type { MasterToWorker, WorkerRequest, WorkerToMaster } from './ipc-messages.js';
import { TsgiError } from './errors.js';

export function sendToMaster(message: WorkerToMaster): void {
  if (process.connected) process.send!(message);
}

/**
 * Requests from a worker to the master, answered in order. Messages on one IPC channel keep their
 * order, which the signal framework relies on (a registration is in the master before a raise
 * that follows it).
 */
export class MasterChannel implements SignalTransport {
  readonly workerId: number;
  #nextId = 1;
  #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();

  constructor(workerId: number) {
    this.workerId = workerId;
  }

  request<T>(request: WorkerRequest): Promise<T> {
    if (!process.connected) return Promise.reject(new TsgiError('TSGI_ERR_NO_MASTER', 'the master is gone: this worker cannot reach it'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      sendToMaster({ t: 'request', id, request });
    });
  }

  /** Settles the request a `reply` message answers; returns false for other messages. */
  handle(message: MasterToWorker): boolean {
    if (message.t !== 'reply') return false;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return true;
    this.#pending.delete(message.id);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(message.error.code.startsWith('TSGI_ERR_SIGNAL_') ? deserializeSignalError(message.error) : new TsgiError(message.error.code, message.error.message));
    return true;
  }

  register(num: number, target: string): Promise<void> {
    return this.request({ op: 'signal-register', num, target });
  }

  raise(num: number, origin = `worker ${this.workerId}`): Promise<SignalRaiseResult> {
    return this.request({ op: 'signal-raise', num, origin });
  }

  addSource(spec: SignalSourceSpec): Promise<AddSourceResult> {
    return this.request({ op: 'signal-add-source', spec });
  }
}
