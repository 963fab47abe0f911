/**
 * What the master knows about the instance at one moment: the input of the stats server, the
 * Prometheus endpoint and `tsgi top`. Units are uWSGI's: microseconds for times, bytes for memory,
 * seconds since the epoch for `lastSpawn`.
 */
export interface CoreSnapshot {
  id: number;
  requests: number;
  inRequest: boolean;
  writeErrors: number;
  readErrors: number;
  /** The request on this core, when it has one. */
  request?: { method: string; uri: string; remoteAddr: string; ageMicros: number };
}

export interface WorkerSnapshot {
  id: number;
  pid: number;
  /** Accepting new connections right now (false while all cores are busy or while it drains). */
  accepting: boolean;
  requests: number;
  exceptions: number;
  harakiriCount: number;
  /** Signals delivered to this worker. */
  signals: number;
  signalQueue: number;
  /** uWSGI's status words: `idle`, `busy`, `sig<N>`, `pause`, `cheap`. */
  status: string;
  rss: number;
  vsz: number;
  /** Total time spent in requests, µs. */
  runningTime: number;
  /** Seconds since the epoch. */
  lastSpawn: number;
  respawnCount: number;
  /** Bytes sent. */
  tx: number;
  /** Average response time, µs. */
  avgRt: number;
  cores: CoreSnapshot[];
  /** tsgi: greenlets spawned by requests that are still alive. */
  backgroundGreenlets: number;
  /** tsgi: requests or connections waiting in the worker for a free core. */
  waitingForCore: number;
  /** tsgi: greenlet errors nobody handled. */
  unhandledGreenletErrors: number;
}

export interface SocketSnapshot {
  name: string;
  proto: 'uwsgi' | 'http';
  /** Connections waiting in the kernel listen backlog. */
  queue: number;
  maxQueue: number;
}

export interface StatsSnapshot {
  version: string;
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
  /** Connections waiting in the listen backlogs, summed (uWSGI's `listen_queue`). */
  listenQueue: number;
  listenQueueErrors: number;
  signalQueue: number;
  /** Requests in flight across workers (uWSGI's `load`). */
  load: number;
  sockets: SocketSnapshot[];
  workers: WorkerSnapshot[];
}
