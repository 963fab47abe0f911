/**
 * The uWSGI API for apps: `import uwsgi from '@tsgi/server/uwsgi'`. Names follow uWSGI's Python
 * module in camelCase (`uwsgi.worker_id()` → `uwsgi.workerId()`).
 */
import { AsyncApiForbiddenError, NoRequestContextError, NotInWorkerError } from './errors.js';
import { currentRequest, type RequestContext } from './engine/request-context.js';
import { TSGI_VERSION } from './version.js';
import { workerRuntime, type WorkerRuntime } from './worker-runtime.js';

function runtime(api: string): WorkerRuntime {
  const rt = workerRuntime();
  if (rt === undefined) throw new NotInWorkerError(api);
  return rt;
}

/** The tsgi version (uWSGI's `uwsgi.version`). */
export const version = TSGI_VERSION;

/** This worker's id, 1-based (uWSGI's `uwsgi.worker_id()`). */
export function workerId(): number {
  return runtime('workerId()').workerId;
}

/** The instance's resolved options (uWSGI's `uwsgi.opt`). */
export function opt(): Readonly<Record<string, unknown>> {
  return runtime('opt()').settings as unknown as Record<string, unknown>;
}

/** Number of worker processes (uWSGI's `uwsgi.numproc`). */
export function numproc(): number {
  return runtime('numproc()').settings.processes;
}

/** Async cores of this worker (uWSGI's `uwsgi.cores`). */
export function cores(): number {
  return runtime('cores()').settings.gevent;
}

/**
 * The current request: works in the request's greenlet and in every greenlet it spawned, even after
 * the response ended (then `ended` is true). uWSGI fails there with `[BUG] current_wsgi_req NOT FOUND`.
 */
export function requestContext(): RequestContext {
  runtime('requestContext()');
  const ctx = currentRequest();
  if (ctx === undefined) throw new NoRequestContextError('requestContext');
  return ctx;
}

/** Greenlets spawned by requests (directly or not) that are still running on this worker. */
export function backgroundGreenlets(): number {
  return runtime('backgroundGreenlets()').engine()?.background.size ?? 0;
}

// The signal framework (uWSGI's SignalFramework): every handler runs in its own greenlet.
type SignalHandler = (num: number) => unknown;

/** Registers `handler` for signal `num`, routed by the master to `target` (`worker`, `workers`, `active-workers`, `workerN`). */
export function registerSignal(num: number, target: string, handler: SignalHandler): Promise<void> {
  return runtime('registerSignal()').signals.registerSignal(num, target, handler);
}
/** Raises signal `num`: the master routes it to its target; the handler never runs inside this call. */
export function signal(num: number) {
  return runtime('signal()').signals.signal(num);
}
export function signalRegistered(num: number): boolean {
  return runtime('signalRegistered()').signals.signalRegistered(num);
}
export function addTimer(num: number, seconds: number): Promise<void> {
  return runtime('addTimer()').signals.addTimer(num, seconds);
}
export function addMsTimer(num: number, ms: number): Promise<void> {
  return runtime('addMsTimer()').signals.addMsTimer(num, ms);
}
export function addRbTimer(num: number, seconds: number, iterations = 0): Promise<void> {
  return runtime('addRbTimer()').signals.addRbTimer(num, seconds, iterations);
}
export function addFileMonitor(num: number, path: string): Promise<void> {
  return runtime('addFileMonitor()').signals.addFileMonitor(num, path);
}
export function addCron(num: number, minute: number, hour: number, day: number, month: number, weekday: number): Promise<void> {
  return runtime('addCron()').signals.addCron(num, minute, hour, day, month, weekday);
}
/** Waits (cooperatively: other greenlets go on) for a signal, or for `num` only. */
export function signalWait(num?: number, options?: { timeout?: number }): Promise<number | undefined> {
  return runtime('signalWait()').signals.signalWait(num, options);
}
export function signalReceived(): number | undefined {
  return runtime('signalReceived()').signals.signalReceived();
}
export function getFreeSignal(): number {
  return runtime('getFreeSignal()').signals.getFreeSignal();
}
/** uwsgidecorators' helpers (`onSignal`, `timer`, `rbTimer`, `msTimer`, `fileMonitor`, `cron`, `postfork`), bound to this worker. */
export function decorators() {
  return runtime('decorators()').decorators;
}

// uWSGI's own async API: the seed says mixing it with gevent is EXPLICITLY FORBIDDEN, and uWSGI
// silently does nothing. tsgi refuses loudly and names the hub call to use.
export function suspend(): never {
  throw new AsyncApiForbiddenError('suspend', 'sleep(0)');
}
export function greenSchedule(): never {
  throw new AsyncApiForbiddenError('greenSchedule', 'sleep(0)');
}
export function waitFdRead(_fd?: number, _timeout?: number): never {
  throw new AsyncApiForbiddenError('waitFdRead', 'a net.Socket read awaited in a greenlet (or @tsgi/monkey patchNet)');
}
export function waitFdWrite(_fd?: number, _timeout?: number): never {
  throw new AsyncApiForbiddenError('waitFdWrite', 'a net.Socket write awaited in a greenlet (or @tsgi/monkey patchNet)');
}
export function asyncSleep(_seconds?: number): never {
  throw new AsyncApiForbiddenError('asyncSleep', 'sleep(seconds)');
}
export function readyFd(): never {
  throw new AsyncApiForbiddenError('readyFd', 'Event or AsyncResult');
}

const uwsgi = {
  version,
  workerId,
  opt,
  numproc,
  cores,
  requestContext,
  backgroundGreenlets,
  suspend,
  greenSchedule,
  waitFdRead,
  waitFdWrite,
  asyncSleep,
  readyFd,
  registerSignal,
  signal,
  signalRegistered,
  addTimer,
  addMsTimer,
  addRbTimer,
  addFileMonitor,
  addCron,
  signalWait,
  signalReceived,
  getFreeSignal,
  decorators,
};

export default uwsgi;
