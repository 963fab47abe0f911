/**
 * The entry point of a worker process (forked by the master). It loads the app, runs one loop
 * engine, takes duplicates of the listening sockets from the master, and runs signal handlers,
 * each in its own greenlet.
 */
import { readFileSync } from 'node:fs';
import { getHub, joinAll, killAll } from '@tsgi/hub';
import { createSignalAllowList, createSignalApi, createSignalDecorators, PostforkRegistry, SignalReceiver } from '@tsgi/signals';
import { loadApp } from './engine/app-loader.js';
import { toTsgiApplication } from './engine/app-adapter.js';
import { LoopEngine, type EngineLogger } from './engine/loop-engine.js';
import type { MasterToWorker, WorkerInit, WorkerStats } from './ipc-messages.js';
import { MasterChannel, sendToMaster } from './worker-ipc.js';
import { createWorkerLogger } from './worker-logger.js';
import { installWorkerRuntime } from './worker-runtime.js';

let engine: LoopEngine | null = null;
let init: WorkerInit | null = null;
let log: EngineLogger | null = null;
let receiver: SignalReceiver | null = null;
let channel: MasterChannel | null = null;
let stopping = false;
let recycling = false;
const earlyHandles: Array<{ index: number; handle: object }> = [];
const pageSize = 4096;

function memory(): { rss: number; vsz: number } {
  try {
    const [vszPages, rssPages] = readFileSync('/proc/self/statm', 'utf8').split(' ').map(Number);
    return { rss: rssPages * pageSize, vsz: vszPages * pageSize };
  } catch {
    return { rss: process.memoryUsage.rss(), vsz: 0 };
  }
}

function workerStats(): WorkerStats {
  const e = engine;
  const r = receiver?.stats();
  const { rss, vsz } = memory();
  const now = Date.now();
  const cores = e
    ? e.cores.cores.map((c) => {
        const ctx = [...e.inFlight].find((x) => x.core === c.id);
        return {
          id: c.id,
          requests: c.requests,
          inRequest: c.inRequest,
          writeErrors: c.writeErrors,
          readErrors: c.readErrors,
          ...(ctx ? { request: { method: ctx.method, uri: ctx.uri, remoteAddr: ctx.remoteAddr, ageMicros: (now - ctx.startTime) * 1000 } } : {}),
        };
      })
    : [];
  const requests = e?.stats.requests ?? 0;
  return {
    id: init?.workerId ?? 0,
    pid: process.pid,
    accepting: e?.isAccepting ?? false,
    requests,
    exceptions: e?.stats.exceptions ?? 0,
    harakiriCount: e?.stats.harakiriCount ?? 0,
    signals: r?.received ?? 0,
    signalQueue: 0,
    rss,
    vsz,
    runningTime: e?.stats.totalRequestMicros ?? 0,
    tx: e?.stats.tx ?? 0,
    avgRt: requests > 0 ? Math.round((e?.stats.totalRequestMicros ?? 0) / requests) : 0,
    cores,
    backgroundGreenlets: e?.background.size ?? 0,
    waitingForCore: e?.waitingForCore ?? 0,
    unhandledGreenletErrors: getHub().unhandledErrors,
    busy: (e?.cores.busyCount ?? 0) > 0,
    signalRunning: r?.running ?? 0,
  };
}

/** max-requests and reload-on-rss: checked after every request, as uWSGI does (not polled). */
function checkRecycle(): void {
  if (recycling || stopping || init === null || engine === null) return;
  const settings = init.settings;
  let reason: string | null = null;
  if (init.maxRequests > 0 && engine.stats.requests >= init.maxRequests) {
    reason = `max requests reached (${engine.stats.requests} >= ${init.maxRequests})`;
  } else if (settings.reloadOnRss > 0) {
    const rss = process.memoryUsage.rss();
    if (rss > settings.reloadOnRss * 1024 * 1024) reason = `reload-on-rss reached (${Math.round(rss / 1048576)} MB > ${settings.reloadOnRss} MB)`;
  }
  if (reason === null) return;
  recycling = true;
  log?.info(`...The work of process ${process.pid} is done (reason: ${reason}). Seeya!`);
  sendToMaster({ t: 'recycle', reason });
}

/**
 * `--gevent-monkey-patch`: timers, sockets and AsyncLocalStorage become greenlet-aware. The request
 * context is not in an AsyncLocalStorage (it rides on the greenlets), so it needs no exemption.
 */
async function monkeyPatch(): Promise<void> {
  const { patchAll } = await import('@tsgi/monkey');
  patchAll();
}

async function start(message: WorkerInit): Promise<void> {
  init = message;
  const { settings, workerId } = message;
  log = createWorkerLogger(settings, workerId);
  const logLine = (line: string) => log!.info(line);
  const started = performance.now();
  const heartbeat = setInterval(() => sendToMaster({ t: 'heartbeat', busyCores: engine?.cores.busyCount ?? 0, accepting: engine?.isAccepting ?? false }), settings.harakiri > 0 ? Math.min(1000, (settings.harakiri * 1000) / 4) : 1000);
  heartbeat.unref();
  if (settings.geventEarlyMonkeyPatch) await monkeyPatch();
  channel = new MasterChannel(workerId);
  receiver = new SignalReceiver({ workerId, log: logLine, onStart: () => sendToMaster({ t: 'signal-ack', count: 1 }) });
  const signals = createSignalApi({ transport: channel, receiver, log: logLine });
  const postfork = new PostforkRegistry();
  const decorators = createSignalDecorators(signals, { postforkRegistry: postfork });
  installWorkerRuntime({ workerId, settings, version: message.version, engine: () => engine, signals, decorators });
  let application;
  try {
    const loaded = await loadApp({ module: settings.module ?? undefined, callable: settings.callable, cwd: settings.cwd });
    application = await toTsgiApplication(loaded, settings.appType);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    log.error(`*** no app loaded on worker ${workerId}: ${text} ***`);
    sendToMaster({ t: 'app-failed', message: text });
    process.exitCode = 22;
    process.disconnect?.();
    return;
  }
  const allow = createSignalAllowList(settings.signalAllow);
  engine = new LoopEngine({
    workerId,
    cores: settings.gevent,
    bufferSize: settings.bufferSize,
    socketTimeout: settings.socketTimeout,
    limitPost: settings.limitPost,
    harakiri: settings.harakiri,
    backlog: settings.listen,
    multiprocess: settings.processes > 1,
    version: message.version,
    sockets: message.sockets,
    app: application,
    log,
    requestHandle: (index) => sendToMaster({ t: 'need-handle', index }),
    onRequestDone: checkRecycle,
    onRemoteSignal: async (num, remoteAddr) => {
      if (!allow.allows(remoteAddr)) {
        log!.error(`signal ${num} from ${remoteAddr} rejected: the address is not in --signal-allow [TSGI_ERR_SIGNAL_NOT_ALLOWED]`);
        return false;
      }
      const result = await channel!.raise(num, `remote ${remoteAddr}`);
      return result.accepted;
    },
  });
  for (const { index, handle } of earlyHandles.splice(0)) engine.supplyHandle(index, handle);
  await postfork.run(workerId);
  // As uWSGI does: after the app is loaded, before the first request.
  if (settings.geventMonkeyPatch && !settings.geventEarlyMonkeyPatch) await monkeyPatch();
  engine.start();
  await engine.whenListening();
  const loadMillis = Math.round(performance.now() - started);
  log.info(`TSGI app 0 (mountpoint='') ready in ${Math.floor(loadMillis / 1000)} seconds on worker ${workerId} (pid: ${process.pid}, cores: ${settings.gevent})`);
  sendToMaster({ t: 'ready', loadMillis });
}

/**
 * Graceful stop: no new requests, in-flight ones finish. Background greenlets then get
 * --worker-reload-mercy on a reload (the new worker is already serving), but are killed with
 * GreenletExit at once on a shutdown (their finally blocks run), unless --gevent-wait-for-hub.
 */
async function stop(mode: 'graceful' | 'brutal', reason: string, purpose: 'reload' | 'shutdown' = 'shutdown'): Promise<void> {
  if (stopping && mode === 'graceful') return;
  stopping = true;
  const workerId = init?.workerId ?? 0;
  if (mode === 'brutal' || engine === null || init === null) {
    log?.info(`Brutally killing worker ${workerId} (pid: ${process.pid})... (${reason})`);
    process.exit(0);
  }
  log?.info(`Gracefully killing worker ${workerId} (pid: ${process.pid})... (${reason})`);
  const draining = engine.drain();
  if (engine.cores.busyCount > 0) {
    for (const ctx of engine.inFlight) log?.info(`worker ${workerId} (pid: ${process.pid}) core ${ctx.core} is managing "${ctx.method} ${ctx.uri}" for ${ctx.remoteAddr}`);
    log?.info(`waiting for ${engine.cores.busyCount} running requests on worker ${workerId} (pid: ${process.pid})...`);
  }
  await draining;
  const settings = init.settings;
  const background = [...engine.background];
  if (background.length > 0) {
    const killNow = settings.geventKillBackgroundOnReload || (purpose === 'shutdown' && !settings.geventWaitForHub);
    if (killNow) {
      const why = purpose === 'shutdown' ? 'shutting down' : '--gevent-kill-background-on-reload';
      log?.info(`killing ${background.length} background greenlets on worker ${workerId} (${why}; GreenletExit, their finally blocks run)`);
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
  receiver?.close();
  engine.dispose();
  if (settings.geventWaitForHub) {
    // uWSGI's meaning: the worker ends when the hub has nothing left (timers, sockets, greenlets);
    // the master's mercy timer bounds the wait.
    log?.info(`waiting for the gevent Hub to have nothing left on worker ${workerId} (--gevent-wait-for-hub)`);
    process.removeAllListeners('disconnect');
    process.disconnect?.();
    return;
  }
  log?.info(`goodbye to the gevent Hub on worker ${workerId} (pid: ${process.pid})`);
  process.exit(0);
}

process.on('message', (message: MasterToWorker, handle?: object) => {
  if (channel?.handle(message)) return;
  switch (message.t) {
    case 'init':
      void start(message);
      break;
    case 'handle':
      if (handle === undefined) break;
      if (engine) engine.supplyHandle(message.index, handle);
      else earlyHandles.push({ index: message.index, handle });
      break;
    case 'stop':
      void stop(message.mode, message.reason, message.purpose);
      break;
    case 'signal':
      if (receiver) receiver.deliver(message.num);
      break;
    case 'stats?':
      sendToMaster({ t: 'stats', id: message.id, stats: workerStats() });
      break;
  }
});

process.on('disconnect', () => {
  if (stopping) return;
  process.stderr.write(`tsgi worker ${init?.workerId ?? '?'} error: the master disconnected from this worker. Shutting down the worker.\n`);
  process.exit(1);
});

// Ctrl-C in a terminal reaches the whole process group: the master decides what happens.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.on('SIGTERM', () => void stop('graceful', 'SIGTERM'));
process.on('SIGPIPE', () => undefined);
