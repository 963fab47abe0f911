import type { CoreSnapshot, SocketSnapshot, StatsSnapshot, WorkerSnapshot } from './stats-snapshot.js';

/** A core as uWSGI's stats server writes it (`cores[]` of a worker). */
export interface UwsgiCoreStats {
  id: number;
  requests: number;
  static_requests: number;
  routed_requests: number;
  offloaded_requests: number;
  write_errors: number;
  read_errors: number;
  /** 1 while the core serves a request, else 0. */
  in_request: number;
  /** `KEY=VALUE` strings of the request on the core (empty when idle). */
  vars: string[];
  /** `{ request_start: epoch seconds }` while busy, `{}` when idle. */
  req_info: { request_start?: number };
}

/** One entry of `workers[].apps` (tsgi has one app per worker: id 0, mountpoint ""). */
export interface UwsgiAppStats {
  id: number;
  modifier1: number;
  mountpoint: string;
  startup_time: number;
  /** Requests *started* (uWSGI counts them at request start: finished + in flight). */
  requests: number;
  exceptions: number;
  chdir: string;
}

export interface UwsgiWorkerStats {
  id: number;
  pid: number;
  accepting: number;
  requests: number;
  delta_requests: number;
  exceptions: number;
  harakiri_count: number;
  signals: number;
  signal_queue: number;
  status: string;
  /** Bytes. */
  rss: number;
  vsz: number;
  /** µs. */
  running_time: number;
  /** Epoch seconds. */
  last_spawn: number;
  respawn_count: number;
  tx: number;
  /** µs. */
  avg_rt: number;
  apps: UwsgiAppStats[];
  cores: UwsgiCoreStats[];
  /** tsgi: greenlets spawned by requests that are still alive. */
  tsgi_background_greenlets: number;
  /** tsgi: connections accepted or requests parsed that wait in the worker for a free core. */
  tsgi_waiting_for_core: number;
  /** tsgi: greenlet errors nobody handled. */
  tsgi_unhandled_greenlet_errors: number;
}

export interface UwsgiSocketStats {
  name: string;
  proto: string;
  queue: number;
  max_queue: number;
  shared: number;
  can_offload: number;
}

/** The whole document, key for key what uWSGI 2.0's `--stats` writes (plus `tsgi_*` extras). */
export interface UwsgiStatsDocument {
  version: string;
  listen_queue: number;
  listen_queue_errors: number;
  signal_queue: number;
  load: number;
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
  /** `[{ "<lock name>": pid holding it, 0 when free }]`: uWSGI's eight lock names, all free in tsgi. */
  locks: Record<string, number>[];
  sockets: UwsgiSocketStats[];
  workers: UwsgiWorkerStats[];
  /** tsgi: the server that wrote the document. */
  tsgi_server: 'tsgi';
}

export interface UwsgiStatsDocumentOptions {
  /** The moment the snapshot describes, in ms since the epoch (for `req_info.request_start`); default now. */
  now?: number;
}

// uWSGI 2.0 lists these locks (user lock 0 and its subsystems' locks) even when nothing uses them;
// tsgi has no shared-memory locks, so each reads 0 (free), as an idle uWSGI's do.
const LOCK_NAMES = ['user 0', 'signal', 'filemon', 'timer', 'rbtimer', 'cron', 'rpc', 'snmp'] as const;

/** A non-negative integer from whatever a snapshot holds (a NaN or a negative count must not reach the JSON). */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function coreStats(core: CoreSnapshot, nowMs: number): UwsgiCoreStats {
  const request = core.inRequest ? core.request : undefined;
  const vars: string[] = [];
  const reqInfo: { request_start?: number } = {};
  if (request) {
    const uri = text(request.uri);
    const query = uri.indexOf('?');
    vars.push(
      `REQUEST_METHOD=${text(request.method)}`,
      `REQUEST_URI=${uri}`,
      `PATH_INFO=${query < 0 ? uri : uri.slice(0, query)}`,
      `QUERY_STRING=${query < 0 ? '' : uri.slice(query + 1)}`,
      `REMOTE_ADDR=${text(request.remoteAddr)}`,
    );
    reqInfo.request_start = Math.floor((nowMs - count(request.ageMicros) / 1000) / 1000);
  }
  return {
    id: count(core.id),
    requests: count(core.requests),
    static_requests: 0,
    routed_requests: 0,
    offloaded_requests: 0,
    write_errors: count(core.writeErrors),
    read_errors: count(core.readErrors),
    in_request: core.inRequest ? 1 : 0,
    vars,
    req_info: reqInfo,
  };
}

function workerStats(worker: WorkerSnapshot, nowMs: number): UwsgiWorkerStats {
  const cores = Array.isArray(worker.cores) ? worker.cores : [];
  const inFlight = cores.filter((c) => c.inRequest).length;
  const requests = count(worker.requests);
  return {
    id: count(worker.id),
    pid: count(worker.pid),
    accepting: worker.accepting ? 1 : 0,
    requests,
    delta_requests: requests,
    exceptions: count(worker.exceptions),
    harakiri_count: count(worker.harakiriCount),
    signals: count(worker.signals),
    signal_queue: count(worker.signalQueue),
    status: text(worker.status, inFlight > 0 ? 'busy' : 'idle'),
    rss: count(worker.rss),
    vsz: count(worker.vsz),
    running_time: count(worker.runningTime),
    last_spawn: count(worker.lastSpawn),
    respawn_count: count(worker.respawnCount),
    tx: count(worker.tx),
    avg_rt: count(worker.avgRt),
    apps: [
      {
        id: 0,
        modifier1: 0,
        mountpoint: '',
        startup_time: 0,
        requests: requests + inFlight,
        exceptions: count(worker.exceptions),
        chdir: '',
      },
    ],
    cores: cores.map((core) => coreStats(core, nowMs)),
    tsgi_background_greenlets: count(worker.backgroundGreenlets),
    tsgi_waiting_for_core: count(worker.waitingForCore),
    tsgi_unhandled_greenlet_errors: count(worker.unhandledGreenletErrors),
  };
}

function socketStats(socket: SocketSnapshot): UwsgiSocketStats {
  return {
    name: text(socket.name),
    proto: text(socket.proto, 'uwsgi'),
    queue: count(socket.queue),
    max_queue: count(socket.maxQueue),
    shared: 0,
    can_offload: 0,
  };
}

/**
 * Turns what the master knows into the JSON uWSGI's `--stats` server writes, with uWSGI's key names,
 * types (integers, `accepting`/`in_request` as 0/1) and units (µs, bytes, epoch seconds), so
 * uwsgitop and other uWSGI tools read it unchanged. tsgi's own figures ride along under `tsgi_*` keys.
 */
export function uwsgiStatsDocument(snapshot: StatsSnapshot, options: UwsgiStatsDocumentOptions = {}): UwsgiStatsDocument {
  const nowMs = options.now ?? Date.now();
  const workers = Array.isArray(snapshot.workers) ? snapshot.workers : [];
  const sockets = Array.isArray(snapshot.sockets) ? snapshot.sockets : [];
  return {
    version: text(snapshot.version),
    listen_queue: count(snapshot.listenQueue),
    listen_queue_errors: count(snapshot.listenQueueErrors),
    signal_queue: count(snapshot.signalQueue),
    load: count(snapshot.load),
    pid: count(snapshot.pid),
    uid: count(snapshot.uid),
    gid: count(snapshot.gid),
    cwd: text(snapshot.cwd),
    locks: LOCK_NAMES.map((name) => ({ [name]: 0 })),
    sockets: sockets.map(socketStats),
    workers: workers.map((worker) => workerStats(worker, nowMs)),
    tsgi_server: 'tsgi',
  };
}
