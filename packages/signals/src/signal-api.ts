import { SignalError } from './errors.js';
import type { SignalRaiseResult } from './signal-master.js';
import type { SignalReceiver } from './signal-receiver.js';
import { normalizeSourceSpec, type AddSourceResult, type SignalSourceSpec } from './signal-sources.js';
import type { SignalHandler } from './signal-table.js';
import { assertSignalNumber, parseSignalTarget } from './signal-target.js';

/**
 * What the API needs from the process plumbing. The server implements it over IPC to the master;
 * `InProcessTransport` calls a SignalMaster directly. Messages must arrive in call order.
 */
export interface SignalTransport {
  /** This process's worker id (1-based; 0 for the master itself). */
  readonly workerId: number;
  /** Records the registration in the master's table. Rejects with the master's SignalError. */
  register(num: number, target: string): Promise<void>;
  /** Asks the master to route `num`. */
  raise(num: number): Promise<SignalRaiseResult>;
  /** Adds a timer, rb-timer, file monitor or cron in the master (idempotent). */
  addSource(spec: SignalSourceSpec): Promise<AddSourceResult>;
}

/** The app-facing API, uWSGI's names in camelCase. Time in seconds except addMsTimer. */
export interface SignalApi {
  /** Registers `handler` for `num` in this worker and `target` in the master. Bad arguments throw at once. */
  registerSignal(num: number, target: string, handler: SignalHandler): Promise<void>;
  /** Raises `num`: the master routes it to its target; the handler never runs inside this call. */
  signal(num: number): Promise<SignalRaiseResult>;
  /** Whether this worker registered `num` (uWSGI checks the worker's own slot too). */
  signalRegistered(num: number): boolean;
  addTimer(num: number, seconds: number): Promise<void>;
  addMsTimer(num: number, ms: number): Promise<void>;
  addRbTimer(num: number, seconds: number, iterations?: number): Promise<void>;
  addFileMonitor(num: number, path: string): Promise<void>;
  addCron(num: number, minute: number, hour: number, day: number, month: number, weekday: number): Promise<void>;
  signalWait(num?: number, options?: { timeout?: number }): Promise<number | undefined>;
  signalReceived(): number | undefined;
  /** The lowest number this worker has not registered. Throws TSGI_ERR_SIGNAL_NO_FREE when all 256 are. */
  getFreeSignal(): number;
}

export interface SignalApiOptions {
  transport: SignalTransport;
  receiver: SignalReceiver;
  log?: (line: string) => void;
}

/**
 * Binds the API to a transport and this worker's receiver. Arguments are checked synchronously
 * (bad ones throw a SignalError at the call); what the master decides comes back as the returned
 * promise, which is also logged when it fails, so an un-awaited call at import never crashes the
 * process with an unhandled rejection.
 */
export function createSignalApi(options: SignalApiOptions): SignalApi {
  const { transport, receiver } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const settle = <T>(what: string, p: Promise<T>): Promise<T> => {
    p.catch((err: unknown) => log(`${what} failed: ${err instanceof Error ? err.message : String(err)}`));
    return p;
  };
  const addSource = (what: string, spec: SignalSourceSpec): Promise<void> => {
    const normalized = normalizeSourceSpec(spec);
    return settle(what, call(() => transport.addSource(normalized)).then(() => undefined));
  };

  return {
    registerSignal(num, target, handler) {
      assertSignalNumber(num);
      parseSignalTarget(target);
      if (typeof handler !== 'function') {
        throw new SignalError('TSGI_ERR_SIGNAL_HANDLER', `registerSignal(${num}): the handler must be a function called as handler(num)`);
      }
      receiver.table.register(num, target ?? '', transport.workerId, handler);
      return settle(`registering signal ${num}`, call(() => transport.register(num, target ?? '')));
    },
    signal(num) {
      assertSignalNumber(num);
      return settle(`raising signal ${num}`, call(() => transport.raise(num)));
    },
    signalRegistered(num) {
      assertSignalNumber(num);
      return receiver.table.get(num)?.handler !== undefined;
    },
    addTimer: (num, seconds) => addSource(`adding timer for signal ${num}`, { kind: 'timer', num, seconds }),
    addMsTimer: (num, ms) => addSource(`adding ms timer for signal ${num}`, { kind: 'ms-timer', num, ms }),
    addRbTimer: (num, seconds, iterations = 0) =>
      addSource(`adding rb timer for signal ${num}`, { kind: 'rb-timer', num, seconds, iterations }),
    addFileMonitor: (num, path) => addSource(`adding file monitor for signal ${num}`, { kind: 'file', num, path }),
    addCron: (num, minute, hour, day, month, weekday) =>
      addSource(`adding cron for signal ${num}`, { kind: 'cron', num, minute, hour, day, month, weekday }),
    signalWait(num, opts) {
      if (num !== undefined) assertSignalNumber(num);
      return receiver.signalWait(num, opts);
    },
    signalReceived: () => receiver.signalReceived(),
    getFreeSignal() {
      for (let num = 0; num < 256; num++) if (receiver.table.get(num)?.handler === undefined) return num;
      throw new SignalError('TSGI_ERR_SIGNAL_NO_FREE', 'No free uwsgi signal available: all 256 signal numbers are registered in this worker');
    },
  };
}

/** Runs a transport call, turning a synchronous throw into a rejection. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}
