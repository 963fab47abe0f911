/**
 * The blocking detector (gevent's monitor thread). The main thread bumps a heartbeat in shared
 * memory from an unref'd interval and records the greenlet that last resumed; a worker thread
 * watches the heartbeat and, when it stalls longer than `maxBlockingTime`, writes the report
 * straight to a file descriptor: the blocked main thread could not relay worker console output.
 */
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from './errors.js';

export interface MonitorOptions {
  /** Seconds the loop may stay blocked before it is reported (gevent's `max_blocking_time`, 0.1). */
  maxBlockingTime?: number;
  /** Called on the main thread once the loop runs again after a reported block. */
  onBlocked?: (report: BlockedReport) => void;
  /** File descriptor the watchdog writes its report to (default 2, stderr). */
  reportFd?: number;
}

export interface BlockedReport {
  /** The greenlet that last started or resumed from a hub wait before the loop blocked. */
  greenlet: { id: number; name: string };
  /** How long the loop stood still, in seconds. */
  seconds: number;
  maxBlockingTime: number;
}

export interface BlockingMonitor {
  /** Resolves once the watchdog thread runs (it cannot report before). */
  ready: Promise<void>;
  record(g: { id: number; name: string }): void;
  stop(): void;
}

// Int32 slots of the shared header.
/** Captured at load: a patched setInterval would tie the heartbeat to the greenlet that started the monitor. */
const { setInterval: nodeSetInterval, clearInterval: nodeClearInterval } = globalThis;

const BEAT = 0;
const GREENLET_ID = 1;
const NAME_LENGTH = 2;
const REPORTED = 3;
const STOP = 4;
const BEAT_TIME_OFFSET = 32; // one Float64: Date.now() of the last heartbeat
const NAME_OFFSET = 64;
const NAME_BYTES = 192;
// What the watchdog saw when it reported: the main thread has moved on by the time it reads it.
const REPORTED_ID = 5;
const REPORTED_NAME_LENGTH = 6;
const REPORTED_NAME_OFFSET = NAME_OFFSET + NAME_BYTES;

const watchdogSource = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { sab, maxMs, fd } = workerData;
const i32 = new Int32Array(sab, 0, 8);
const f64 = new Float64Array(sab, ${BEAT_TIME_OFFSET}, 1);
const name = new Uint8Array(sab, ${NAME_OFFSET}, ${NAME_BYTES});
const reportedName = new Uint8Array(sab, ${REPORTED_NAME_OFFSET}, ${NAME_BYTES});
const decoder = new TextDecoder();
const step = Math.max(5, Math.min(50, maxMs / 4));
let reportedBeat = -1;
for (;;) {
  Atomics.wait(i32, ${STOP}, 0, step);
  if (Atomics.load(i32, ${STOP}) !== 0) break;
  const beat = Atomics.load(i32, ${BEAT});
  const stalled = Date.now() - f64[0];
  if (stalled <= maxMs || beat === reportedBeat) continue;
  reportedBeat = beat;
  const id = Atomics.load(i32, ${GREENLET_ID});
  const length = Atomics.load(i32, ${NAME_LENGTH});
  reportedName.set(name.subarray(0, length));
  Atomics.store(i32, ${REPORTED_ID}, id);
  Atomics.store(i32, ${REPORTED_NAME_LENGTH}, length);
  const label = decoder.decode(name.slice(0, length));
  const when = new Date().toISOString().replace(/\\.\\d+Z$/, 'Z');
  const text = '\\n+--------- ' + when + ' : Greenlet <Greenlet "' + label + '" at 0x' + id.toString(16) +
    '> appears to be blocked\\n    Reported by the tsgi:hub monitor thread: the event loop has not turned for ' +
    (stalled / 1000).toFixed(3) + ' s (maxBlockingTime ' + (maxMs / 1000) + ' s)\\n';
  try { writeSync(fd, text); } catch {}
  Atomics.store(i32, ${REPORTED}, 1);
}
`;

export function startBlockingMonitor(
  options: MonitorOptions,
  publish: (report: BlockedReport) => void,
): BlockingMonitor {
  const maxBlockingTime = options.maxBlockingTime ?? 0.1;
  if (typeof maxBlockingTime !== 'number' || !(maxBlockingTime > 0)) {
    throw new InvalidArgumentError(`maxBlockingTime must be a positive number of seconds, got ${String(maxBlockingTime)}`);
  }
  const maxMs = maxBlockingTime * 1000;
  const sab = new SharedArrayBuffer(REPORTED_NAME_OFFSET + NAME_BYTES);
  const reportedName = new Uint8Array(sab, REPORTED_NAME_OFFSET, NAME_BYTES);
  const decoder = new TextDecoder();
  const i32 = new Int32Array(sab, 0, 8);
  const f64 = new Float64Array(sab, BEAT_TIME_OFFSET, 1);
  const nameBytes = new Uint8Array(sab, NAME_OFFSET, NAME_BYTES);
  const encoder = new TextEncoder();
  f64[0] = Date.now();

  const worker = new Worker(watchdogSource, {
    eval: true,
    workerData: { sab, maxMs, fd: options.reportFd ?? 2 },
    stdout: false,
    stderr: false,
  });
  // Referenced only until it runs, so that awaiting `ready` cannot let the loop run dry.
  const ready = new Promise<void>((resolve) => {
    worker.once('online', () => {
      worker.unref();
      resolve();
    });
    // A watchdog that fails to start must not take the application down with it.
    worker.once('error', () => resolve());
  });
  worker.on('error', () => {});

  let lastBeat = Date.now();
  let lastId = -1;
  let lastName = '';
  const interval = nodeSetInterval(() => {
    const t = Date.now();
    const stalled = t - lastBeat;
    lastBeat = t;
    f64[0] = t;
    Atomics.add(i32, BEAT, 1);
    if (Atomics.exchange(i32, REPORTED, 0) !== 0) {
      const report: BlockedReport = {
        greenlet: {
          id: Atomics.load(i32, REPORTED_ID),
          name: decoder.decode(reportedName.slice(0, Atomics.load(i32, REPORTED_NAME_LENGTH))),
        },
        seconds: stalled / 1000,
        maxBlockingTime,
      };
      publish(report);
      options.onBlocked?.(report);
    }
  }, Math.max(5, Math.min(50, maxMs / 4)));
  interval.unref();

  return {
    ready,
    record(g) {
      if (g.id === lastId) return;
      lastId = g.id;
      lastName = g.name;
      Atomics.store(i32, GREENLET_ID, g.id);
      const { written } = encoder.encodeInto(lastName, nameBytes);
      Atomics.store(i32, NAME_LENGTH, written);
    },
    stop() {
      nodeClearInterval(interval);
      Atomics.store(i32, STOP, 1);
      Atomics.notify(i32, STOP);
      void worker.terminate().catch(() => {});
    },
  };
}
