import { SignalError } from './errors.js';
import { assertSignalNumber, parseSignalTarget, sameSignalTarget, SIGNAL_COUNT, type SignalTarget } from './signal-target.js';

/** A handler is called as `handler(num)` in its own greenlet; its return value (or promise) is awaited and ignored. */
export type SignalHandler = (num: number) => unknown;

export interface SignalEntry {
  readonly num: number;
  /** The target as the app wrote it (`""`, `"workers"`, ...). */
  readonly receiver: string;
  readonly target: SignalTarget;
  /** This process's handler (worker side); the master's table has none. */
  readonly handler: SignalHandler | undefined;
  /** The worker id of the latest registration (0 = the master), as uWSGI's `wid`. */
  readonly wid: number;
  /** Every worker id that registered this number: the workers that hold a handler for it. */
  readonly workerIds: ReadonlySet<number>;
}

export interface RegisterOutcome {
  entry: SignalEntry;
  /** True when this registration changed the target of an existing entry. */
  retargeted: boolean;
  previousReceiver: string | undefined;
}

/**
 * The 256-entry signal table. The master holds the authoritative one (targets and which workers
 * registered each number); every worker holds its own with the handlers. Entries are never removed,
 * as in uWSGI.
 */
export class SignalTable {
  readonly #entries: (SignalEntry | undefined)[] = new Array(SIGNAL_COUNT).fill(undefined);

  /**
   * Registers (or re-registers) `num`. A worker may re-register (its handler and the target are
   * replaced, as uWSGI overwrites the worker's slot); the master (workerId 0) may not re-register a
   * number that already has an entry, as in uWSGI.
   */
  register(num: number, receiver: string, workerId: number, handler?: SignalHandler): RegisterOutcome {
    assertSignalNumber(num);
    const target = parseSignalTarget(receiver);
    if (handler !== undefined && typeof handler !== 'function') {
      throw new SignalError('TSGI_ERR_SIGNAL_HANDLER', `signal ${num}: the handler must be a function called as handler(num)`);
    }
    const old = this.#entries[num];
    if (old && workerId === 0) {
      throw new SignalError(
        'TSGI_ERR_SIGNAL_REREGISTER',
        `[uwsgi-signal] you cannot re-register a signal as the master !!! (signal ${num} is already registered; pick another number with getFreeSignal())`,
      );
    }
    const workerIds = new Set(old?.workerIds ?? []);
    workerIds.add(workerId);
    const entry: SignalEntry = {
      num,
      receiver: receiver ?? '',
      target,
      handler: handler ?? old?.handler,
      wid: workerId,
      workerIds,
    };
    this.#entries[num] = entry;
    const retargeted = old !== undefined && !sameSignalTarget(old.target, target);
    return { entry, retargeted, previousReceiver: old?.receiver };
  }

  get(num: number): SignalEntry | undefined {
    return this.#entries[num];
  }

  has(num: number): boolean {
    return this.#entries[num] !== undefined;
  }

  /** The lowest number without an entry, or undefined when all 256 are taken. */
  free(): number | undefined {
    const i = this.#entries.indexOf(undefined);
    return i < 0 ? undefined : i;
  }

  entries(): SignalEntry[] {
    return this.#entries.filter((e): e is SignalEntry => e !== undefined);
  }
}
