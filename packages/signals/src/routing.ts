import type { SignalEntry } from './signal-table.js';
import type { SignalTarget } from './signal-target.js';

/** What the master knows about one worker slot when it routes a signal. */
export interface WorkerSignalState {
  /** 1-based worker id, as uWSGI's. */
  id: number;
  /** 0 while the slot has no process (not yet spawned, respawning). */
  pid: number;
  /** The process is up and reading signals. */
  alive: boolean;
  /** Not cheaped, not suspended, not shutting down: uWSGI's "active-workers". */
  active: boolean;
  busyCores: number;
  freeCores: number;
  /** Signals sent to this worker whose handler has not started yet (the master's queue knows it). */
  pending?: number;
}

export interface SignalRoute {
  /** The worker ids to deliver to, in delivery order. */
  workerIds: number[];
  /** uWSGI's log lines for the parts that could not be routed. */
  problems: string[];
}

const ANY: SignalTarget = { kind: 'any' };

/**
 * uWSGI's `uwsgi_route_signal`, as a pure function. An unregistered number goes to one worker (as in
 * uWSGI, so a `signalWait` there can consume it). For the one-worker targets the worker is chosen
 * among the live ones that registered a handler (all of them when the master registered it), the
 * ones with a free core first, then the fewest pending signals, then the lowest id: what uWSGI's
 * shared pipe does, where the first idle worker reads the byte.
 */
export function routeSignal(num: number, entry: SignalEntry | undefined, workers: readonly WorkerSignalState[]): SignalRoute {
  const target = entry?.target ?? ANY;
  const problems: string[] = [];
  const live = (w: WorkerSignalState) => w.alive && w.pid > 0;
  switch (target.kind) {
    case 'any': {
      const alive = workers.filter(live);
      const holders = entry && !entry.workerIds.has(0) ? alive.filter((w) => entry.workerIds.has(w.id)) : alive;
      const pool = holders.length > 0 ? holders : alive;
      const chosen = pickFirstFree(pool);
      if (chosen === undefined) {
        problems.push(`could not deliver signal ${num} to workers pool`);
        return { workerIds: [], problems };
      }
      return { workerIds: [chosen.id], problems };
    }
    case 'all':
    case 'active': {
      const ids: number[] = [];
      for (const w of [...workers].sort((a, b) => a.id - b.id)) {
        if (live(w) && (target.kind === 'all' || w.active)) ids.push(w.id);
        else if (target.kind === 'all') problems.push(`could not deliver signal ${num} to worker ${w.id}`);
      }
      return { workerIds: ids, problems };
    }
    case 'worker': {
      const w = workers.find((x) => x.id === target.id);
      if (!w) {
        problems.push(`invalid signal target: worker${target.id}`);
        return { workerIds: [], problems };
      }
      if (!live(w)) {
        problems.push(`could not deliver signal ${num} to worker ${w.id}`);
        return { workerIds: [], problems };
      }
      return { workerIds: [w.id], problems };
    }
  }
}

function pickFirstFree(pool: readonly WorkerSignalState[]): WorkerSignalState | undefined {
  let best: WorkerSignalState | undefined;
  for (const w of pool) {
    if (best === undefined || better(w, best)) best = w;
  }
  return best;
}

function better(a: WorkerSignalState, b: WorkerSignalState): boolean {
  const aFree = a.freeCores > 0 && a.active ? 1 : 0;
  const bFree = b.freeCores > 0 && b.active ? 1 : 0;
  if (aFree !== bFree) return aFree > bFree;
  const ap = a.pending ?? 0;
  const bp = b.pending ?? 0;
  if (ap !== bp) return ap < bp;
  return a.id < b.id;
}
