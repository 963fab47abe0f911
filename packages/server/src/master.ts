import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, hostname, machine, release, type } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignalError, SignalMaster, serializeSignalError, type WorkerSignalState } from '@tsgi/signals';
import type { TsgiOptions } from './config/options.js';
import { bindHandle, type BoundHandle } from './engine/listen-handle.js';
import type { EngineSocket } from './engine/loop-engine.js';
import { formatSocketAddress, parseSocketAddress } from './engine/socket-address.js';
import type { MasterToWorker, WorkerRequest, WorkerSettings, WorkerStats, WorkerToMaster } from './ipc-messages.js';
import { MasterFifo } from './master-fifo.js';
import { listenQueueLength } from './stats/listen-queue.js';
import { startPrometheusServer, startStatsServer, type StatsServer } from './stats/stats-server.js';
import type { SocketSnapshot, StatsSnapshot, WorkerSnapshot } from './stats/stats-snapshot.js';
import { WorkerNodeArgError } from './errors.js';
import { TSGI_VERSION } from './version.js';
import { describeWorkerHeap, workerHeapFlags } from './worker-heap.js';

export interface MasterIO {
  /** One log line (the master's log: stderr, or --logto). */
  log(line: string): void;
}

export interface BoundSocket extends EngineSocket {
  bound: BoundHandle;
}

interface WorkerProcess {
  id: number;
  child: ChildProcess;
  pid: number;
  ready: boolean;
  spawnedAt: number;
  lastHeartbeat: number;
  busyCores: number;
  accepting: boolean;
  stopping: boolean;
  whenReady: Promise<boolean>;
  settleReady: (ok: boolean) => void;
  mercy?: NodeJS.Timeout;
}

/** What lives on in a worker slot across respawns and reloads (uWSGI's per-worker counters). */
interface WorkerSlot {
  id: number;
  respawnCount: number;
  lastSpawn: number;
  harakiriCount: number;
  fastDeaths: number;
  lastStats?: WorkerStats;
}

/** uWSGI's ctime-like date: `Tue Nov 24 16:16:54 2026`. */
export function ctime(date = new Date()): string {
  const text = date.toString(); // "Tue Nov 24 2026 16:16:54 GMT+0000 (...)"
  const [dow, mon, day, year, time] = text.split(' ');
  return `${dow} ${mon} ${day} ${time} ${year}`;
}

const WORKER_ENTRY = fileURLToPath(new URL('./worker-main.js', import.meta.url));
/** A worker that dies this soon after its spawn counts as dying at start-up (backoff applies). */
const EARLY_DEATH_MS = 2000;
const READY_TIMEOUT_MS = 60_000;

/**
 * Runs Node once with the flags, as a worker would get them: a flag Node refuses fails the start here,
 * with Node's own words, instead of killing every worker the moment it is spawned.
 */
function checkWorkerNodeArgs(args: readonly string[]): void {
  const run = spawnSync(process.execPath, [...args, '-e', ''], { encoding: 'utf8', timeout: 30_000 });
  if (run.status === 0) return;
  const said = (run.stderr || run.error?.message || `exit ${run.status ?? run.signal}`).trim().split('\n')[0];
  throw new WorkerNodeArgError(`[TSGI_ERR_WORKER_NODE_ARG] --worker-node-arg ${args.join(' ')}: Node refuses it (${said})`);
}

/**
 * The master: binds every socket once, forks the workers, hands each worker duplicates of the
 * listening sockets, routes signals, and owns the lifecycle (respawn, rolling reload, recycling,
 * harakiri of a blocked worker). Without --master it is a thin keeper of the sockets (the accept
 * gate needs someone to hold them) that ends when its only worker ends.
 */
export class Master {
  readonly options: TsgiOptions;
  readonly cwd: string;
  readonly signals: SignalMaster;
  #io: MasterIO;
  #sockets: BoundSocket[] = [];
  #workers = new Map<number, WorkerProcess>();
  #draining = new Set<WorkerProcess>();
  #slots = new Map<number, WorkerSlot>();
  #shuttingDown = false;
  #reloading: Promise<void> | null = null;
  #exitCode = 0;
  #done!: (code: number) => void;
  readonly finished: Promise<number>;
  #announcedReady = false;
  /** Node flags of every worker: tsgi's own (but --inspect), --worker-heap's, --worker-node-arg's. */
  #workerExecArgv: string[] = [];
  #timers: NodeJS.Timeout[] = [];
  #fifo: MasterFifo | null = null;
  #statsRequests = new Map<number, (stats: WorkerStats) => void>();
  #nextStatsId = 1;
  #touched = new Map<string, number>();
  #statsServers: StatsServer[] = [];

  constructor(options: TsgiOptions, cwd: string, io: MasterIO) {
    this.options = options;
    this.cwd = cwd;
    this.#io = io;
    this.finished = new Promise((resolve) => (this.#done = resolve));
    this.signals = new SignalMaster({
      workers: () => this.#signalStates(),
      send: (workerId, num) => {
        const worker = this.#workers.get(workerId);
        if (worker?.child.connected) worker.child.send({ t: 'signal', num } satisfies MasterToWorker);
      },
      log: (line) => this.#io.log(line),
      queuePolicy: options.signalQueuePolicy,
    });
  }

  get sockets(): readonly BoundSocket[] {
    return this.#sockets;
  }

  /** Pids of the live workers, by worker id. */
  get workerPids(): Map<number, number> {
    return new Map([...this.#workers].map(([id, w]) => [id, w.pid]));
  }

  #log(line: string): void {
    this.#io.log(line);
  }

  async start(): Promise<void> {
    const o = this.options;
    this.#log(`*** Starting tsgi ${TSGI_VERSION} (Node.js ${process.version}) on [${ctime()}] ***`);
    this.#log(`os: ${type()}-${release()}`);
    this.#log(`nodename: ${hostname()}`);
    this.#log(`machine: ${machine()}`);
    this.#log(`detected number of CPU cores: ${cpus().length}`);
    this.#log(`current working directory: ${this.cwd}`);
    this.#log(`detected binary path: ${process.execPath}`);
    if (!o.master) this.#log('*** WARNING: you are running tsgi without its master process manager ***');
    const heap = workerHeapFlags(o.workerHeap, { execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS, workerNodeArg: o.workerNodeArg });
    this.#workerExecArgv = [...process.execArgv.filter((a) => !a.startsWith('--inspect')), ...heap.flags, ...o.workerNodeArg];
    this.#log(describeWorkerHeap(o.workerHeap, heap));
    if (o.workerNodeArg.length > 0) {
      checkWorkerNodeArgs(o.workerNodeArg);
      this.#log(`workers run with node ${o.workerNodeArg.join(' ')}`);
    }
    this.#log(`- async cores set to ${o.gevent}`);
    for (const [index, { address: spec, protocol }] of o.listeners.entries()) {
      const address = parseSocketAddress(spec);
      const bound = await bindHandle(address);
      this.#sockets.push({ index, protocol, name: formatSocketAddress(bound.address), port: bound.address.kind === 'tcp' ? bound.address.port : 0, bound });
      const kind = bound.address.kind === 'tcp' ? 'TCP' : 'UNIX';
      this.#log(`uwsgi socket ${index} bound to ${kind} address ${formatSocketAddress(bound.address)} fd ${bound.fd}`);
    }
    this.#dropPrivileges();
    this.#log(`your server socket listen backlog is limited to ${o.listen} connections`);
    this.#log(`your mercy for graceful operations on workers is ${o.workerReloadMercy} seconds`);
    this.#log(`*** Operational MODE: ${o.processes > 1 ? 'preforking+async' : 'async'} ***`);
    if (o.pidfile) writeFileSync(resolve(this.cwd, o.pidfile), `${process.pid}\n`);
    if (o.master) this.#log(`spawned tsgi master process (pid: ${process.pid})`);
    for (let id = 1; id <= o.processes; id++) {
      this.#slots.set(id, { id, respawnCount: 0, lastSpawn: 0, harakiriCount: 0, fastDeaths: 0 });
      this.#spawnWorker(id);
    }
    this.#startSignalSources();
    this.#startWatchdogs();
    const log = (line: string) => this.#log(line);
    const collect = () => this.collectStats();
    if (o.stats) this.#statsServers.push(await startStatsServer({ address: o.stats, http: o.statsHttp, collect, log }));
    if (o.statsPrometheus) this.#statsServers.push(await startPrometheusServer({ address: o.statsPrometheus, collect, log }));
    if (o.masterFifo.length > 0) {
      const path = resolve(this.cwd, o.masterFifo[0]);
      this.#fifo = new MasterFifo(path, (command) => this.#fifoCommand(command));
      this.#log(`master FIFO enabled on ${path}`);
    }
  }

  #dropPrivileges(): void {
    const { uid, gid } = this.options;
    if (process.getuid?.() !== 0) {
      if (uid || gid) this.#log('--uid/--gid ignored: tsgi is not running as root');
      return;
    }
    if (gid) {
      process.setgid!(/^\d+$/.test(gid) ? Number(gid) : gid);
      this.#log(`setgid() to ${gid}`);
    }
    if (uid) {
      process.setuid!(/^\d+$/.test(uid) ? Number(uid) : uid);
      this.#log(`setuid() to ${uid}`);
    }
  }

  #settings(): WorkerSettings {
    return { ...this.options, cwd: this.cwd };
  }

  #spawnWorker(id: number): WorkerProcess {
    const slot = this.#slots.get(id)!;
    const child = fork(WORKER_ENTRY, [], {
      cwd: this.cwd,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, TSGI_WORKER_ID: String(id) },
      execArgv: this.#workerExecArgv,
    });
    let settleReady!: (ok: boolean) => void;
    const whenReady = new Promise<boolean>((resolve) => (settleReady = resolve));
    const now = Date.now();
    const worker: WorkerProcess = {
      id,
      child,
      pid: child.pid ?? 0,
      ready: false,
      spawnedAt: now,
      lastHeartbeat: now,
      busyCores: 0,
      accepting: false,
      stopping: false,
      whenReady,
      settleReady,
    };
    this.#workers.set(id, worker);
    slot.lastSpawn = Math.floor(now / 1000);
    const only = this.options.processes === 1 && !this.options.master ? ' (and the only)' : '';
    this.#log(`spawned tsgi worker ${id}${only} (pid: ${worker.pid}, cores: ${this.options.gevent})`);
    child.on('message', (message: WorkerToMaster) => this.#onMessage(worker, message));
    child.on('exit', (code, signal) => this.#onExit(worker, code, signal));
    child.on('error', (err) => this.#log(`worker ${id} (pid: ${worker.pid}) error: ${err.message}`));
    const o = this.options;
    child.send({
      t: 'init',
      workerId: id,
      version: TSGI_VERSION,
      sockets: this.#sockets.map(({ index, protocol, name, port }) => ({ index, protocol, name, port })),
      settings: this.#settings(),
      maxRequests: o.maxRequests > 0 ? o.maxRequests + (id - 1) * o.maxRequestsDelta : 0,
      lastSpawn: slot.lastSpawn,
      respawnCount: slot.respawnCount,
    } satisfies MasterToWorker);
    // Two duplicates per socket: one to listen on, one spare so the accept gate can reopen at once.
    for (const s of this.#sockets) {
      this.#sendHandle(worker, s.index);
      this.#sendHandle(worker, s.index);
    }
    this.signals.workerStarted(id);
    return worker;
  }

  #sendHandle(worker: WorkerProcess, index: number): void {
    const socket = this.#sockets[index];
    if (!socket || !worker.child.connected) return;
    worker.child.send({ t: 'handle', index } satisfies MasterToWorker, socket.bound.handle as never, (err) => {
      if (err && !this.#shuttingDown && !worker.stopping) this.#log(`unable to pass socket ${index} to worker ${worker.id}: ${err.message}`);
    });
  }

  #reply(worker: WorkerProcess, id: number, work: () => unknown): void {
    const send = (message: MasterToWorker) => {
      if (worker.child.connected) worker.child.send(message);
    };
    try {
      const value = work();
      Promise.resolve(value).then(
        (v) => send({ t: 'reply', id, ok: true, value: v }),
        (err: unknown) => send({ t: 'reply', id, ok: false, error: errorOf(err) }),
      );
    } catch (err) {
      send({ t: 'reply', id, ok: false, error: errorOf(err) });
    }
  }

  #handleRequest(worker: WorkerProcess, id: number, request: WorkerRequest): void {
    switch (request.op) {
      case 'signal-register':
        this.#reply(worker, id, () => {
          this.signals.register(request.num, request.target, worker.id);
        });
        break;
      case 'signal-raise':
        this.#reply(
          worker,
          id,
          () =>
            new Promise((resolve) => {
              let sent = false;
              let result: unknown;
              result = this.signals.raise(request.num, request.origin, () => {
                sent = true;
                if (result !== undefined) resolve(result);
              });
              if (sent) resolve(result);
            }),
        );
        break;
      case 'signal-add-source':
        this.#reply(worker, id, () => this.signals.addSource(request.spec));
        break;
    }
  }

  #onMessage(worker: WorkerProcess, message: WorkerToMaster): void {
    switch (message.t) {
      case 'need-handle':
        this.#sendHandle(worker, message.index);
        break;
      case 'heartbeat':
        worker.lastHeartbeat = Date.now();
        worker.busyCores = message.busyCores;
        worker.accepting = message.accepting;
        break;
      case 'ready': {
        worker.ready = true;
        worker.lastHeartbeat = Date.now();
        worker.accepting = true;
        worker.settleReady(true);
        this.#slots.get(worker.id)!.fastDeaths = 0;
        if (!this.#announcedReady && this.#workers.size === this.options.processes && [...this.#workers.values()].every((w) => w.ready)) {
          this.#announcedReady = true;
          this.#log(`*** running gevent loop engine [tsgi hub] ***`);
          this.#log(`*** tsgi ready: ${this.#workers.size} worker(s) accepting ***`);
        }
        break;
      }
      case 'app-failed':
        worker.settleReady(false);
        if (this.options.needApp || !this.options.master) {
          this.#log(`*** no app loaded. GAME OVER ***`);
          this.#exitCode = 22;
          void this.shutdown('brutal', 'no app loaded');
        }
        break;
      case 'recycle':
        void this.#replace(worker.id, message.reason);
        break;
      case 'signal-ack':
        this.signals.ack(worker.id, message.count);
        break;
      case 'stats': {
        const slot = this.#slots.get(worker.id);
        if (slot) slot.lastStats = message.stats;
        this.#statsRequests.get(message.id)?.(message.stats);
        break;
      }
      case 'request':
        this.#handleRequest(worker, message.id, message.request);
        break;
    }
  }

  #onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    worker.settleReady(false);
    if (worker.mercy) clearTimeout(worker.mercy);
    const reason = signal ? `killed by signal ${signal}` : `exit code ${code}`;
    if (this.#draining.delete(worker)) {
      this.#log(`worker ${worker.id} (pid: ${worker.pid}) exited after its reload (${reason})`);
      if (this.#shuttingDown && this.#workers.size === 0 && this.#draining.size === 0) this.#finish();
      return;
    }
    if (this.#workers.get(worker.id) !== worker) return;
    this.#workers.delete(worker.id);
    this.signals.workerExited(worker.id);
    if (this.#shuttingDown || worker.stopping) {
      this.#log(`worker ${worker.id} (pid: ${worker.pid}) exited (${reason})`);
      if (this.#workers.size === 0 && this.#draining.size === 0) this.#finish();
      return;
    }
    if (!this.options.master) {
      this.#log(`worker ${worker.id} (pid: ${worker.pid}) died (${reason}); no master to respawn it, exiting`);
      this.#exitCode = code ?? 1;
      this.#shuttingDown = true;
      if (this.#workers.size === 0) this.#finish();
      return;
    }
    const slot = this.#slots.get(worker.id)!;
    this.#log(`DAMN ! worker ${worker.id} (pid: ${worker.pid}) died, ${reason} :( trying respawn ...`);
    const early = !worker.ready || Date.now() - worker.spawnedAt < EARLY_DEATH_MS;
    slot.fastDeaths = early ? slot.fastDeaths + 1 : 0;
    const delay = slot.fastDeaths > 1 ? Math.min(30_000, 500 * 2 ** Math.min(slot.fastDeaths - 2, 6)) : 0;
    if (delay > 0) this.#log(`worker respawning too fast !!! i have to sleep a bit (${(delay / 1000).toFixed(1)} seconds)...`);
    const timer = setTimeout(() => {
      if (this.#shuttingDown || this.#workers.has(worker.id)) return;
      slot.respawnCount++;
      const next = this.#spawnWorker(worker.id);
      this.#log(`Respawned tsgi worker ${worker.id} (new pid: ${next.pid})`);
    }, delay);
    this.#timers.push(timer);
  }

  /**
   * Replaces the worker in slot `id` without dropping a request: the new worker starts and reports
   * ready first, then the old one stops accepting and drains (its sockets stay with the master).
   */
  async #replace(id: number, reason: string): Promise<boolean> {
    const old = this.#workers.get(id);
    if (old === undefined || old.stopping || this.#shuttingDown) return false;
    old.stopping = true;
    this.#draining.add(old);
    this.#workers.delete(id);
    const slot = this.#slots.get(id)!;
    slot.respawnCount++;
    const next = this.#spawnWorker(id);
    const ready = await Promise.race([next.whenReady, new Promise<boolean>((r) => setTimeout(r, READY_TIMEOUT_MS, false).unref())]);
    if (!ready) {
      this.#log(`worker ${id}: its replacement (pid: ${next.pid}) did not become ready; keeping pid ${old.pid}`);
      if (this.#workers.get(id) === next) {
        next.stopping = true;
        next.child.kill('SIGKILL');
        this.#workers.delete(id);
      }
      if (!this.#shuttingDown && old.child.exitCode === null) {
        old.stopping = false;
        this.#draining.delete(old);
        this.#workers.set(id, old);
      }
      return false;
    }
    this.#stopWorker(old, 'graceful', reason, 'reload');
    return true;
  }

  #stopWorker(worker: WorkerProcess, mode: 'graceful' | 'brutal', reason: string, purpose: 'reload' | 'shutdown'): void {
    worker.stopping = true;
    if (mode === 'brutal') {
      worker.child.kill('SIGKILL');
      return;
    }
    if (worker.child.connected) worker.child.send({ t: 'stop', mode, reason, purpose } satisfies MasterToWorker);
    else worker.child.kill('SIGTERM');
    worker.mercy = setTimeout(() => {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
      this.#log(`worker ${worker.id} (pid: ${worker.pid}) is taking too much time to die...NO MERCY !!!`);
      worker.child.kill('SIGKILL');
    }, (this.options.workerReloadMercy + 5) * 1000);
    worker.mercy.unref();
  }

  /** Rolling, graceful reload of every worker (SIGHUP, touch-reload, FIFO `r`/`w`/`c`). */
  reload(reason: string): Promise<void> {
    if (this.#shuttingDown) return Promise.resolve();
    if (this.#reloading) return this.#reloading;
    this.#log(`...gracefully reloading workers (${reason})...`);
    const started = Date.now();
    this.#reloading = (async () => {
      for (const id of [...this.#slots.keys()]) {
        if (this.#shuttingDown) break;
        await this.#replace(id, reason);
      }
      this.#log(`workers reloaded in ${((Date.now() - started) / 1000).toFixed(2)} s (${reason})`);
    })().finally(() => (this.#reloading = null));
    return this.#reloading;
  }

  #startSignalSources(): void {
    const add = (spec: Parameters<SignalMaster['addSource']>[0]) => {
      try {
        this.signals.addSource(spec);
      } catch (err) {
        this.#log(`${err instanceof Error ? err.message : String(err)}`);
      }
    };
    for (const t of this.options.signalTimer) add({ kind: 'timer', num: t.signum, seconds: t.seconds });
    for (const t of this.options.signalRbtimer) add({ kind: 'rb-timer', num: t.signum, seconds: t.seconds, iterations: 0 });
    for (const t of this.options.touchSignal) add({ kind: 'file', num: t.signum, path: resolve(this.cwd, t.file) });
  }

  #startWatchdogs(): void {
    const o = this.options;
    const tick = setInterval(() => {
      const now = Date.now();
      if (o.harakiri > 0) {
        for (const worker of [...this.#workers.values(), ...this.#draining]) {
          if (!worker.ready || worker.child.exitCode !== null) continue;
          const silent = now - worker.lastHeartbeat;
          if (silent > o.harakiri * 1000 + 1000) this.#harakiriWorker(worker, silent);
        }
      }
      for (const [files, what] of [
        [o.touchReload, 'touch-reload'],
        [o.touchWorkersReload, 'touch-workers-reload'],
      ] as const) {
        for (const file of files) {
          const path = resolve(this.cwd, file);
          let mtime = 0;
          try {
            mtime = statSync(path).mtimeMs;
          } catch {
            mtime = 0;
          }
          const seen = this.#touched.get(path);
          this.#touched.set(path, mtime);
          if (seen !== undefined && mtime !== seen && mtime !== 0) {
            this.#log(`*** ${path} has been touched... grace them all !!! ***`);
            void this.reload(`${what} ${file}`);
          }
        }
      }
    }, 1000);
    this.#timers.push(tick);
  }

  #harakiriWorker(worker: WorkerProcess, silentMs: number): void {
    const slot = this.#slots.get(worker.id);
    if (slot) slot.harakiriCount++;
    this.#log(`*** HARAKIRI ON WORKER ${worker.id} (pid: ${worker.pid}, try: 1, graceful: no) *** (its event loop has been blocked for ${(silentMs / 1000).toFixed(1)} s, --harakiri ${this.options.harakiri})`);
    if (this.options.harakiriVerbose) {
      for (const file of ['wchan', 'syscall']) {
        try {
          this.#log(`HARAKIRI: -- ${file} of worker ${worker.id}: ${readFileSync(`/proc/${worker.pid}/${file}`, 'utf8').trim()}`);
        } catch {
          // not readable on this system
        }
      }
    }
    worker.lastHeartbeat = Date.now();
    worker.child.kill('SIGKILL');
  }

  #fifoCommand(command: string): void {
    switch (command) {
      case 'r':
      case 'w':
      case 'c':
        void this.reload(`master FIFO command ${command}`);
        break;
      case 'q':
        void this.shutdown('graceful', 'master FIFO command q');
        break;
      case 'Q':
        void this.shutdown('brutal', 'master FIFO command Q');
        break;
      case 's':
        void this.logStats();
        break;
      default:
        this.#log(`[master-fifo] unknown command "${command}" (known: r w c q Q s)`);
    }
  }

  #signalStates(): WorkerSignalState[] {
    return [...this.#slots.keys()].map((id) => {
      const w = this.#workers.get(id);
      return {
        id,
        pid: w?.pid ?? 0,
        alive: w !== undefined && w.ready,
        active: w !== undefined && w.ready && !w.stopping,
        busyCores: w?.busyCores ?? 0,
        freeCores: w ? this.options.gevent - w.busyCores : 0,
      };
    });
  }

  /** Asks every worker for its counters (at most `timeoutMs`; a silent worker shows its last known ones). */
  async collectStats(timeoutMs = 1000): Promise<StatsSnapshot> {
    const signalStats = this.signals.stats();
    const workers = await Promise.all(
      [...this.#slots.values()].map(async (slot): Promise<WorkerSnapshot> => {
        const w = this.#workers.get(slot.id);
        let stats = slot.lastStats;
        if (w?.child.connected) {
          const id = this.#nextStatsId++;
          stats = await new Promise<WorkerStats | undefined>((resolve) => {
            const timer = setTimeout(() => {
              this.#statsRequests.delete(id);
              resolve(slot.lastStats);
            }, timeoutMs);
            this.#statsRequests.set(id, (s) => {
              clearTimeout(timer);
              this.#statsRequests.delete(id);
              resolve(s);
            });
            w.child.send({ t: 'stats?', id } satisfies MasterToWorker);
          });
        }
        const base: WorkerStats = stats ?? {
          id: slot.id, pid: w?.pid ?? 0, accepting: false, requests: 0, exceptions: 0, harakiriCount: 0, signals: 0, signalQueue: 0,
          rss: 0, vsz: 0, runningTime: 0, tx: 0, avgRt: 0, cores: [], backgroundGreenlets: 0, waitingForCore: 0, unhandledGreenletErrors: 0, busy: false, signalRunning: 0,
        };
        const { busy, signalRunning, ...rest } = base;
        const queue = signalStats.queues.find((q) => q.workerId === slot.id);
        return {
          ...rest,
          signalQueue: queue ? queue.pending + queue.waiting : 0,
          pid: w?.pid ?? 0,
          harakiriCount: base.harakiriCount + slot.harakiriCount,
          status: w === undefined ? 'cheap' : busy ? 'busy' : signalRunning > 0 ? 'sig' : 'idle',
          lastSpawn: slot.lastSpawn,
          respawnCount: slot.respawnCount,
        };
      }),
    );
    const sockets: SocketSnapshot[] = await Promise.all(
      this.#sockets.map(async (s) => ({ name: s.name, proto: s.protocol, queue: (await listenQueueLength(s.bound.address)) ?? 0, maxQueue: this.options.listen })),
    );
    return {
      version: TSGI_VERSION,
      pid: process.pid,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      cwd: this.cwd,
      listenQueue: sockets.reduce((n, s) => n + s.queue, 0),
      listenQueueErrors: 0,
      signalQueue: signalStats.queues.reduce((n, q) => n + q.pending + q.waiting, 0),
      load: workers.reduce((n, w) => n + w.cores.filter((c) => c.inRequest).length, 0),
      sockets,
      workers,
    };
  }

  /** SIGUSR1 / FIFO `s`: a short report in the log. */
  async logStats(): Promise<void> {
    const snapshot = await this.collectStats();
    this.#log(`*** tsgi stats: ${snapshot.workers.length} workers, load ${snapshot.load}, listen queue ${snapshot.listenQueue} ***`);
    for (const w of snapshot.workers) {
      this.#log(
        `worker ${w.id} (pid: ${w.pid}) ${w.status}: ${w.requests} requests, ${w.exceptions} exceptions, avg ${Math.round(w.avgRt / 1000)} ms, rss ${Math.round(w.rss / 1048576)} MB, ${w.backgroundGreenlets} background greenlets, ${w.waitingForCore} waiting for a core`,
      );
    }
  }

  /** Stops every worker (graceful: they finish their requests first) and ends the master. */
  async shutdown(mode: 'graceful' | 'brutal', reason: string): Promise<void> {
    if (this.#shuttingDown && mode === 'graceful') return;
    this.#shuttingDown = true;
    this.#log(mode === 'graceful' ? `${reason} received... gracefully stopping workers` : `${reason}... brutally killing workers...`);
    for (const timer of this.#timers.splice(0)) clearTimeout(timer);
    this.signals.close();
    for (const worker of [...this.#workers.values(), ...this.#draining]) this.#stopWorker(worker, mode, reason, 'shutdown');
    if (this.#workers.size === 0 && this.#draining.size === 0) this.#finish();
  }

  #finished = false;

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const timer of this.#timers.splice(0)) clearTimeout(timer);
    this.#fifo?.close(this.options.vacuum);
    for (const server of this.#statsServers.splice(0)) void server.close();
    for (const s of this.#sockets) {
      s.bound.close();
      if (this.options.vacuum && s.bound.address.kind === 'unix') removeFile(s.bound.address.path);
    }
    if (this.options.vacuum && this.options.pidfile) removeFile(resolve(this.cwd, this.options.pidfile));
    this.#log('goodbye to tsgi.');
    this.#done(this.#exitCode);
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof SignalError) return serializeSignalError(err);
  const code = (err as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'TSGI_ERR_MASTER', message: err instanceof Error ? err.message : String(err) };
}
