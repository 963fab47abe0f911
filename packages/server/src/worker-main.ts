/**
 * The entry point of a worker process (forked by the master). It loads the app, runs one loop
 * engine, and takes duplicates of the listening sockets from the master over IPC.
 */
import { joinAll, killAll } from '@tsgi/hub';
import { loadApp } from './engine/app-loader.js';
import { LoopEngine } from './engine/loop-engine.js';
import { toTsgiApplication } from './engine/app-adapter.js';
import type { MasterToWorker, WorkerInit, WorkerToMaster } from './ipc-messages.js';
import { createWorkerLogger } from './worker-logger.js';
import { installWorkerRuntime } from './worker-runtime.js';

function send(message: WorkerToMaster): void {
  if (process.connected) process.send!(message);
}

let engine: LoopEngine | null = null;
const earlyHandles: Array<{ index: number; handle: object }> = [];
let stopping = false;

async function start(init: WorkerInit): Promise<void> {
  const { settings, workerId } = init;
  const log = createWorkerLogger(settings, workerId);
  const started = performance.now();
  if (settings.geventEarlyMonkeyPatch) {
    const { patchAll } = await import('@tsgi/monkey');
    patchAll();
  }
  installWorkerRuntime({ workerId, settings, version: init.version, engine: () => engine });
  let application;
  try {
    const loaded = await loadApp({ module: settings.module ?? undefined, callable: settings.callable, cwd: settings.cwd });
    application = toTsgiApplication(loaded, settings.appType);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`*** no app loaded on worker ${workerId}: ${message} ***`);
    send({ t: 'app-failed', message });
    process.exitCode = 22;
    process.disconnect?.();
    return;
  }
  engine = new LoopEngine({
    workerId,
    cores: settings.gevent,
    bufferSize: settings.bufferSize,
    socketTimeout: settings.socketTimeout,
    limitPost: settings.limitPost,
    harakiri: settings.harakiri,
    backlog: settings.listen,
    multiprocess: settings.processes > 1,
    version: init.version,
    sockets: init.sockets,
    app: application,
    log,
    requestHandle: (index) => send({ t: 'need-handle', index }),
  });
  for (const { index, handle } of earlyHandles.splice(0)) engine.supplyHandle(index, handle);
  if (settings.geventMonkeyPatch) {
    // As uWSGI does: after the app is loaded, before the first request.
    const { patchAll } = await import('@tsgi/monkey');
    patchAll();
  }
  engine.start();
  const loadMillis = Math.round(performance.now() - started);
  log.info(`TSGI app 0 (mountpoint='') ready in ${(loadMillis / 1000).toFixed(0)} seconds on worker ${workerId} (pid: ${process.pid}, cores: ${settings.gevent})`);
  send({ t: 'ready', loadMillis });
}

async function stop(mode: 'graceful' | 'brutal', reason: string, init: WorkerInit | null): Promise<void> {
  if (stopping && mode === 'graceful') return;
  stopping = true;
  const workerId = init?.workerId ?? 0;
  const log = init ? createWorkerLogger(init.settings, workerId) : null;
  if (mode === 'brutal' || engine === null) {
    log?.info(`Brutally killing worker ${workerId} (pid: ${process.pid})... (${reason})`);
    process.exit(0);
  }
  log?.info(`Gracefully killing worker ${workerId} (pid: ${process.pid})... (${reason})`);
  engine.stopAccepting();
  if (engine.cores.busyCount > 0) {
    log?.info(`waiting for ${engine.cores.busyCount} running requests on worker ${workerId} (pid: ${process.pid})...`);
  }
  await engine.whenIdle();
  const settings = init!.settings;
  const background = [...engine.background];
  if (background.length > 0) {
    if (settings.geventKillBackgroundOnReload) {
      log?.info(`killing ${background.length} background greenlets on worker ${workerId} (--gevent-kill-background-on-reload)`);
      await killAll(background, { block: true, timeout: 5 });
    } else {
      log?.info(`waiting up to ${settings.workerReloadMercy} s (--worker-reload-mercy) for ${background.length} background greenlets on worker ${workerId}...`);
      await joinAll(background, { timeout: settings.workerReloadMercy });
      const left = background.filter((g) => !g.dead);
      if (left.length > 0 && !settings.geventWaitForHub) {
        log?.info(`killing ${left.length} background greenlets still running on worker ${workerId} (GreenletExit; their finally blocks run)`);
        await killAll(left, { block: true, timeout: 5 });
      }
    }
  }
  if (settings.geventWaitForHub) {
    // uWSGI's meaning: the worker ends when the hub has nothing left (timers, sockets, greenlets);
    // the master's mercy timer bounds the wait.
    engine.dispose();
    log?.info(`waiting for the gevent Hub to have nothing left on worker ${workerId} (--gevent-wait-for-hub)`);
    process.removeAllListeners('disconnect');
    process.disconnect?.();
    return;
  }
  engine.dispose();
  log?.info(`goodbye to the gevent Hub on worker ${workerId} (pid: ${process.pid})`);
  process.exit(0);
}

let current: WorkerInit | null = null;
process.on('message', (message: MasterToWorker, handle?: object) => {
  switch (message.t) {
    case 'init':
      current = message;
      void start(message);
      break;
    case 'handle':
      if (handle === undefined) break;
      if (engine) engine.supplyHandle(message.index, handle);
      else earlyHandles.push({ index: message.index, handle });
      break;
    case 'stop':
      void stop(message.mode, message.reason, current);
      break;
  }
});

process.on('disconnect', () => {
  if (stopping) return;
  process.stderr.write(`tsgi worker ${current?.workerId ?? '?'} error: the master disconnected from this worker. Shutting down the worker.\n`);
  process.exit(1);
});

// Ctrl-C in a terminal reaches the whole process group: the master decides what happens.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop('graceful', 'SIGTERM', current));
process.on('SIGPIPE', () => undefined);
