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
};

export default uwsgi;
