import type { WorkerHeap } from '../worker-heap.js';

/** The fully resolved options of one tsgi run: every flag of the option table, defaults applied. */
export interface TsgiOptions {
  // sockets and protocol
  socket: string[];
  httpSocket: string[];
  /** Every --socket and --http-socket in the order given: uWSGI numbers sockets in that order. */
  listeners: ListenerSetting[];
  listen: number;
  bufferSize: number;
  socketTimeout: number;
  limitPost: number;
  postBuffering: number;
  // loop engine
  gevent: number;
  loop: 'gevent';
  threads: number;
  enableThreads: boolean;
  geventMonkeyPatch: boolean;
  geventEarlyMonkeyPatch: boolean;
  // application
  module: string | null;
  callable: string;
  appType: 'tsgi' | 'node' | 'fetch' | null;
  needApp: boolean;
  chdir: string | null;
  env: EnvSetting[];
  catchExceptions: boolean;
  disableWriteException: boolean;
  // processes
  master: boolean;
  processes: number;
  /** Node and V8 flags added to each worker's command line (`--worker-node-arg`). */
  workerNodeArg: string[];
  /** `--worker-heap`: the V8 heap flags tsgi adds for its workers. */
  workerHeap: WorkerHeap;
  masterFifo: string[];
  pidfile: string | null;
  vacuum: boolean;
  uid: string | null;
  gid: string | null;
  // reloading and recycling
  workerReloadMercy: number;
  maxRequests: number;
  maxRequestsDelta: number;
  reloadOnRss: number;
  touchReload: string[];
  touchWorkersReload: string[];
  geventWaitForHub: boolean;
  geventKillBackgroundOnReload: boolean;
  // harakiri
  harakiri: number;
  harakiriVerbose: boolean;
  // stats
  stats: string | null;
  statsHttp: boolean;
  statsPrometheus: string | null;
  // signals
  signal: SignalTarget | null;
  signalTimer: SignalTimerSetting[];
  signalRbtimer: SignalTimerSetting[];
  touchSignal: TouchSignalSetting[];
  signalAllow: string[];
  signalQueuePolicy: 'drop' | 'block';
  // logging
  disableLogging: boolean;
  logformat: string | null;
  logto: string | null;
  logMicros: boolean;
  log4xx: boolean;
  log5xx: boolean;
  // the --http front router (tsgi-edge)
  http: string[];
  httpBuffering: boolean;
  httpRequestBuffering: boolean;
  // configuration files
  ini: string[];
  json: string[];
  yaml: string[];
  include: string[];
  setPlaceholder: string[];
  // accepted and ignored, with a note
  plugins: string[];
  lazyApps: boolean;
  dieOnTerm: boolean;
  // general
  help: boolean;
  version: boolean;
}

/** `--env KEY=VALUE`. */
export interface EnvSetting {
  readonly name: string;
  readonly value: string;
}

/** `--signal ADDR,NUM` (client mode: send signal NUM to the instance listening on ADDR). */
export interface SignalTarget {
  readonly address: string;
  readonly signum: number;
}

/** `--signal-timer "NUM SECONDS"` / `--signal-rbtimer "NUM SECONDS"`. */
export interface SignalTimerSetting {
  readonly signum: number;
  readonly seconds: number;
}

/** `--touch-signal "FILE NUM"`: raise signal NUM when FILE is touched. */
export interface TouchSignalSetting {
  readonly file: string;
  readonly signum: number;
}

/** One listening socket, from `--socket` (uwsgi protocol) or `--http-socket`. */
export interface ListenerSetting {
  readonly protocol: 'uwsgi' | 'http';
  readonly address: string;
}
