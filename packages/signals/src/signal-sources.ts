import { existsSync, watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { systemClock, type SignalClock } from './clock.js';
import { cronFieldsOf, cronMatches, validateCronSpec, type CronSpec } from './cron.js';
import { SignalError } from './errors.js';
import { assertSignalNumber } from './signal-target.js';

/** A master-side event source, as the API and the transport describe it. Times are in seconds except `ms`. */
export type SignalSourceSpec =
  | { kind: 'timer'; num: number; seconds: number }
  | { kind: 'ms-timer'; num: number; ms: number }
  | { kind: 'rb-timer'; num: number; seconds: number; iterations: number }
  | { kind: 'file'; num: number; path: string }
  | ({ kind: 'cron'; num: number } & CronSpec);

export type SignalSourceKind = SignalSourceSpec['kind'];

/** uWSGI's limits: 64 timers (ms-timers included), 64 rb-timers, 64 file monitors, 64 crons. */
export const SIGNAL_SOURCE_LIMIT = 64;

export interface SignalSourceInfo {
  key: string;
  spec: SignalSourceSpec;
  /** How many times it raised its signal. */
  fired: number;
  /** False once an rb-timer has done its iterations (it keeps its slot, as in uWSGI). */
  armed: boolean;
}

export interface SignalSourcesOptions {
  /** Called each time a source fires; `origin` names the source (e.g. `timer 17 every 2s`). */
  raise: (num: number, origin: string) => void;
  clock?: SignalClock;
  log?: (line: string) => void;
}

export interface AddSourceResult {
  key: string;
  /** False when an identical source already existed (the registry is idempotent: uWSGI #783). */
  added: boolean;
}

type Group = 'timers' | 'rb_timers' | 'file monitors' | 'cron';
const GROUP: Record<SignalSourceKind, Group> = {
  timer: 'timers',
  'ms-timer': 'timers',
  'rb-timer': 'rb_timers',
  file: 'file monitors',
  cron: 'cron',
};
const UNABLE: Record<Group, string> = {
  timers: 'unable to add timer',
  rb_timers: 'unable to add rb_timer',
  'file monitors': 'unable to add file monitor',
  cron: 'unable to add cron',
};

interface Running {
  info: SignalSourceInfo;
  stop: () => void;
}

/**
 * The master's timers, rb-timers, file monitors and crons. Sources are keyed by what they are
 * (kind, signal, period or path or schedule): adding an identical one again is a no-op, so every
 * worker may add the same timer at import and the instance gets one timer, not N.
 */
export class SignalSources {
  readonly #raise: (num: number, origin: string) => void;
  readonly #clock: SignalClock;
  readonly #log: (line: string) => void;
  readonly #sources = new Map<string, Running>();
  readonly #counts: Record<Group, number> = { timers: 0, rb_timers: 0, 'file monitors': 0, cron: 0 };
  #closed = false;

  constructor(options: SignalSourcesOptions) {
    this.#raise = options.raise;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? defaultLog;
  }

  /** Validates, deduplicates and arms a source. Throws SignalError for bad parameters or a full table. */
  add(spec: SignalSourceSpec): AddSourceResult {
    const normalized = normalizeSourceSpec(spec);
    const key = sourceKey(normalized);
    if (this.#sources.has(key)) return { key, added: false };
    const group = GROUP[normalized.kind];
    if (this.#counts[group] >= SIGNAL_SOURCE_LIMIT) {
      const line = `you can register max ${SIGNAL_SOURCE_LIMIT} ${group} !!!`;
      this.#log(line);
      throw new SignalError('TSGI_ERR_SIGNAL_LIMIT', `${UNABLE[group]}: ${line} (the instance-wide limit, as in uWSGI)`);
    }
    if (this.#closed) {
      throw new SignalError('TSGI_ERR_SIGNAL_TRANSPORT', `${UNABLE[group]}: the signal sources are closed`);
    }
    const info: SignalSourceInfo = { key, spec: normalized, fired: 0, armed: true };
    const stop = this.#arm(info);
    this.#sources.set(key, { info, stop });
    this.#counts[group]++;
    return { key, added: true };
  }

  list(): SignalSourceInfo[] {
    return [...this.#sources.values()].map((r) => ({ ...r.info }));
  }

  count(group: Group): number {
    return this.#counts[group];
  }

  /** Disarms every source (timers cleared, watchers closed). */
  close(): void {
    this.#closed = true;
    for (const r of this.#sources.values()) {
      r.stop();
      r.info.armed = false;
    }
  }

  #fire(info: SignalSourceInfo, origin: string): void {
    info.fired++;
    try {
      this.#raise(info.spec.num, origin);
    } catch (err) {
      this.#log(`error raising signal ${info.spec.num} from ${origin}: ${(err as Error)?.stack ?? String(err)}`);
    }
  }

  #arm(info: SignalSourceInfo): () => void {
    const spec = info.spec;
    switch (spec.kind) {
      case 'timer':
        return this.#periodic(info, spec.seconds * 1000, 0, `timer ${spec.num} every ${spec.seconds}s`);
      case 'ms-timer':
        return this.#periodic(info, spec.ms, 0, `ms timer ${spec.num} every ${spec.ms}ms`);
      case 'rb-timer':
        return this.#periodic(info, spec.seconds * 1000, spec.iterations, `rb timer ${spec.num} every ${spec.seconds}s`);
      case 'cron':
        return this.#cron(info, spec);
      case 'file':
        return this.#file(info, spec.path);
    }
  }

  /** Fires at start + k*period (no drift); after a stall it fires once and resumes on the grid. */
  #periodic(info: SignalSourceInfo, periodMs: number, iterations: number, origin: string): () => void {
    const clock = this.#clock;
    const start = clock.now();
    let k = 0;
    let handle: unknown;
    const schedule = () => {
      const now = clock.now();
      k = Math.max(k + 1, Math.floor((now - start) / periodMs) + 1);
      handle = clock.setTimeout(tick, start + k * periodMs - now);
    };
    const tick = () => {
      handle = undefined;
      this.#fire(info, origin);
      if (iterations > 0 && info.fired >= iterations) {
        info.armed = false;
        return;
      }
      if (info.armed) schedule();
    };
    schedule();
    return () => {
      if (handle !== undefined) clock.clearTimeout(handle);
      handle = undefined;
    };
  }

  /** Evaluated at each local minute boundary; fires at most once per 60 s (uWSGI's `now - last_job >= 60`). */
  #cron(info: SignalSourceInfo, spec: CronSpec & { num: number }): () => void {
    const clock = this.#clock;
    let lastJob = -Infinity;
    let handle: unknown;
    const schedule = (fromMinute: number) => {
      handle = clock.setTimeout(tick, Math.max(0, fromMinute + 60_000 - clock.now()));
    };
    const tick = () => {
      // A timer may run a hair before the boundary by the wall clock; evaluate the minute it was meant for.
      const minute = Math.round(clock.now() / 60_000) * 60_000;
      if (cronMatches(spec, cronFieldsOf(new Date(minute))) && minute - lastJob >= 60_000) {
        lastJob = minute;
        this.#log(`[uwsgi-cron] routing signal ${spec.num}`);
        this.#fire(info, `cron ${spec.num}`);
      }
      if (info.armed) schedule(minute);
    };
    schedule(Math.floor(clock.now() / 60_000) * 60_000);
    return () => {
      if (handle !== undefined) clock.clearTimeout(handle);
    };
  }

  /**
   * inotify through fs.watch: a touch (attribute change), a write, or an entry change in a directory
   * fires the signal once per burst (events of one loop turn are coalesced). When the file is replaced
   * or removed, the watch follows the path: re-armed on the new file, or polled until it reappears.
   */
  #file(info: SignalSourceInfo, path: string): () => void {
    let watcher: FSWatcher | undefined;
    let polling = false;
    let burst = false;
    let stopped = false;
    const origin = `file monitor ${info.spec.num} on ${path}`;
    const fire = () => {
      if (burst || stopped) return;
      burst = true;
      setImmediate(() => {
        burst = false;
        if (!stopped) this.#fire(info, origin);
      });
    };
    const poll = () => {
      if (polling) return;
      polling = true;
      watchFile(path, { interval: 500, persistent: true }, (cur) => {
        if (cur.nlink > 0 || cur.mtimeMs > 0) {
          unwatchFile(path);
          polling = false;
          rearm();
          fire();
        }
      });
    };
    const rearm = () => {
      watcher?.close();
      watcher = undefined;
      if (stopped) return;
      if (!existsSync(path)) return poll();
      try {
        watcher = watch(path, { persistent: true }, (event) => {
          fire();
          if (event === 'rename') setImmediate(() => (stopped ? undefined : rearm()));
        });
        watcher.on('error', (err) => {
          this.#log(`file monitor on ${path}: ${err.message}; watching it again`);
          setImmediate(() => (stopped ? undefined : rearm()));
        });
      } catch (err) {
        this.#log(`file monitor on ${path}: ${(err as Error).message}; polling it until it reappears`);
        poll();
      }
    };
    if (!existsSync(path)) {
      throw new SignalError(
        'TSGI_ERR_SIGNAL_FILE_MONITOR',
        `unable to add file monitor: ${path} does not exist (create it first; uWSGI's inotify needs an existing path too)`,
      );
    }
    rearm();
    return () => {
      stopped = true;
      watcher?.close();
      watcher = undefined;
      if (polling) unwatchFile(path);
      polling = false;
    };
  }
}

function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

function invalid(what: string, detail: string): never {
  throw new SignalError('TSGI_ERR_SIGNAL_SOURCE_INVALID', `unable to add ${what}: ${detail}`);
}

/** Checks a source's parameters and returns it in canonical form (absolute path, iterations set). */
export function normalizeSourceSpec(spec: SignalSourceSpec): SignalSourceSpec {
  if (spec === null || typeof spec !== 'object') invalid('signal source', `expected an object, got ${String(spec)}`);
  assertSignalNumber(spec.num);
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  switch (spec.kind) {
    case 'timer':
      if (!positive(spec.seconds)) invalid('timer', `the period must be a positive number of seconds, got ${String(spec.seconds)}`);
      return { kind: 'timer', num: spec.num, seconds: spec.seconds };
    case 'ms-timer':
      if (!positive(spec.ms)) invalid('timer', `the period must be a positive number of milliseconds, got ${String(spec.ms)}`);
      return { kind: 'ms-timer', num: spec.num, ms: spec.ms };
    case 'rb-timer': {
      if (!positive(spec.seconds)) invalid('rb_timer', `the period must be a positive number of seconds, got ${String(spec.seconds)}`);
      const iterations = spec.iterations ?? 0;
      if (!Number.isInteger(iterations) || iterations < 0) {
        invalid('rb_timer', `iterations must be 0 (forever) or a positive integer, got ${String(iterations)}`);
      }
      return { kind: 'rb-timer', num: spec.num, seconds: spec.seconds, iterations };
    }
    case 'file':
      if (typeof spec.path !== 'string' || spec.path === '') invalid('file monitor', `expected a path, got ${String(spec.path)}`);
      return { kind: 'file', num: spec.num, path: resolve(spec.path) };
    case 'cron': {
      const { minute, hour, day, month, weekday } = spec;
      validateCronSpec({ minute, hour, day, month, weekday });
      return { kind: 'cron', num: spec.num, minute, hour, day, month, weekday };
    }
    default:
      return invalid('signal source', `unknown kind ${String((spec as { kind: unknown }).kind)} (use timer, ms-timer, rb-timer, file or cron)`);
  }
}

/** The identity of a source: identical specs share one key, hence one armed source. */
export function sourceKey(spec: SignalSourceSpec): string {
  switch (spec.kind) {
    case 'timer':
      return `timer:${spec.num}:${spec.seconds}`;
    case 'ms-timer':
      return `ms-timer:${spec.num}:${spec.ms}`;
    case 'rb-timer':
      return `rb-timer:${spec.num}:${spec.seconds}:${spec.iterations}`;
    case 'file':
      return `file:${spec.num}:${spec.path}`;
    case 'cron':
      return `cron:${spec.num}:${spec.minute}:${spec.hour}:${spec.day}:${spec.month}:${spec.weekday}`;
  }
}
