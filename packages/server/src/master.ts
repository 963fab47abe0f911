import { fork, type ChildProcess } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { cpus, hostname, machine, release, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { TsgiOptions } from './config/options.js';
import { bindHandle, type BoundHandle } from './engine/listen-handle.js';
import type { EngineSocket } from './engine/loop-engine.js';
import { formatSocketAddress, parseSocketAddress } from './engine/socket-address.js';
import type { MasterToWorker, WorkerSettings, WorkerToMaster } from './ipc-messages.js';
import { TSGI_VERSION } from './version.js';

export interface MasterIO {
  /** One log line (the master's log: stderr, or --logto). */
  log(line: string): void;
}

interface BoundSocket extends EngineSocket {
  bound: BoundHandle;
}

interface WorkerProcess {
  id: number;
  child: ChildProcess;
  pid: number;
  ready: boolean;
  spawnedAt: number;
  respawnCount: number;
  stopping: boolean;
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

/**
 * The master: binds every socket once, forks the workers, hands each worker duplicates of the
 * listening sockets, and owns the process lifecycle. Without --master it is a thin keeper of the
 * sockets (the accept gate needs someone to hold them) that ends when its only worker ends.
 */
export class Master {
  readonly options: TsgiOptions;
  readonly cwd: string;
  #io: MasterIO;
  #sockets: BoundSocket[] = [];
  #workers = new Map<number, WorkerProcess>();
  #shuttingDown = false;
  #exitCode = 0;
  #done!: (code: number) => void;
  readonly finished: Promise<number>;
  #announcedReady = false;
  #fastDeaths = 0;

  constructor(options: TsgiOptions, cwd: string, io: MasterIO) {
    this.options = options;
    this.cwd = cwd;
    this.#io = io;
    this.finished = new Promise((resolve) => (this.#done = resolve));
  }

  get sockets(): readonly BoundSocket[] {
    return this.#sockets;
  }

  async start(): Promise<void> {
    const o = this.options;
    const log = (line: string) => this.#io.log(line);
    log(`*** Starting tsgi ${TSGI_VERSION} (Node.js ${process.version}) on [${ctime()}] ***`);
    log(`os: ${type()}-${release()}`);
    log(`nodename: ${hostname()}`);
    log(`machine: ${machine()}`);
    log(`detected number of CPU cores: ${cpus().length}`);
    log(`current working directory: ${this.cwd}`);
    log(`detected binary path: ${process.execPath}`);
    if (!o.master) log('*** WARNING: you are running tsgi without its master process manager ***');
    log(`- async cores set to ${o.gevent}`);
    const specs: Array<{ spec: string; protocol: 'uwsgi' | 'http' }> = [
      ...o.socket.map((spec) => ({ spec, protocol: 'uwsgi' as const })),
      ...o.httpSocket.map((spec) => ({ spec, protocol: 'http' as const })),
    ];
    for (const [index, { spec, protocol }] of specs.entries()) {
      const address = parseSocketAddress(spec);
      const bound = await bindHandle(address);
      this.#sockets.push({ index, protocol, name: formatSocketAddress(bound.address), port: bound.address.kind === 'tcp' ? bound.address.port : 0, bound });
      const kind = bound.address.kind === 'tcp' ? 'TCP' : 'UNIX';
      log(`uwsgi socket ${index} bound to ${kind} address ${formatSocketAddress(bound.address)} fd ${bound.fd}`);
    }
    log(`your server socket listen backlog is limited to ${o.listen} connections`);
    log(`your mercy for graceful operations on workers is ${o.workerReloadMercy} seconds`);
    log(`*** Operational MODE: ${o.processes > 1 ? 'preforking+async' : 'async'} ***`);
    if (o.pidfile) writeFileSync(o.pidfile, `${process.pid}\n`);
    if (o.master) log(`spawned tsgi master process (pid: ${process.pid})`);
    for (let id = 1; id <= o.processes; id++) this.#spawnWorker(id, 0);
  }

  #settings(): WorkerSettings {
    return { ...this.options, cwd: this.cwd };
  }

  #spawnWorker(id: number, respawnCount: number): void {
    const child = fork(WORKER_ENTRY, [], {
      cwd: this.cwd,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, TSGI_WORKER_ID: String(id) },
      execArgv: process.execArgv.filter((a) => !a.startsWith('--inspect')),
    });
    const worker: WorkerProcess = { id, child, pid: child.pid ?? 0, ready: false, spawnedAt: Date.now(), respawnCount, stopping: false };
    this.#workers.set(id, worker);
    const only = this.options.processes === 1 && !this.options.master ? ' (and the only)' : '';
    this.#io.log(`spawned tsgi worker ${id}${only} (pid: ${worker.pid}, cores: ${this.options.gevent})`);
    child.on('message', (message: WorkerToMaster) => this.#onMessage(worker, message));
    child.on('exit', (code, signal) => this.#onExit(worker, code, signal));
    child.on('error', (err) => this.#io.log(`worker ${id} (pid: ${worker.pid}) error: ${err.message}`));
    const init: MasterToWorker = {
      t: 'init',
      workerId: id,
      version: TSGI_VERSION,
      sockets: this.#sockets.map(({ index, protocol, name, port }) => ({ index, protocol, name, port })),
      settings: this.#settings(),
    };
    child.send(init);
    // Two duplicates per socket: one to listen on, one spare so the accept gate can reopen at once.
    for (const s of this.#sockets) {
      this.#sendHandle(worker, s.index);
      this.#sendHandle(worker, s.index);
    }
  }

  #sendHandle(worker: WorkerProcess, index: number): void {
    const socket = this.#sockets[index];
    if (!socket || !worker.child.connected) return;
    const message: MasterToWorker = { t: 'handle', index };
    worker.child.send(message, socket.bound.handle as never, (err) => {
      if (err && !this.#shuttingDown) this.#io.log(`unable to pass socket ${index} to worker ${worker.id}: ${err.message}`);
    });
  }

  #onMessage(worker: WorkerProcess, message: WorkerToMaster): void {
    switch (message.t) {
      case 'need-handle':
        this.#sendHandle(worker, message.index);
        break;
      case 'ready':
        worker.ready = true;
        this.#fastDeaths = 0;
        if (!this.#announcedReady && [...this.#workers.values()].every((w) => w.ready)) {
          this.#announcedReady = true;
          this.#io.log(`*** running gevent loop engine [tsgi hub] ***`);
          this.#io.log(`*** tsgi ready: ${this.#workers.size} worker(s) accepting ***`);
        }
        break;
      case 'app-failed':
        if (this.options.needApp || !this.options.master) {
          this.#io.log(`*** no app loaded. GAME OVER ***`);
          this.#exitCode = 22;
          void this.shutdown('brutal', 'no app loaded');
        }
        break;
    }
  }

  #onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#workers.get(worker.id) === worker) this.#workers.delete(worker.id);
    const reason = signal ? `killed by signal ${signal}` : `exit code ${code}`;
    if (this.#shuttingDown || worker.stopping) {
      this.#io.log(`worker ${worker.id} (pid: ${worker.pid}) exited (${reason})`);
      if (this.#workers.size === 0) this.#finish();
      return;
    }
    if (!this.options.master) {
      this.#io.log(`worker ${worker.id} (pid: ${worker.pid}) died (${reason}); no master to respawn it, exiting`);
      this.#exitCode = code ?? 1;
      this.#shuttingDown = true;
      if (this.#workers.size === 0) this.#finish();
      return;
    }
    this.#io.log(`DAMN ! worker ${worker.id} (pid: ${worker.pid}) died, ${reason} :( trying respawn ...`);
    const early = Date.now() - worker.spawnedAt < EARLY_DEATH_MS;
    this.#fastDeaths = early ? this.#fastDeaths + 1 : 0;
    const delay = early ? Math.min(30_000, 500 * 2 ** Math.min(this.#fastDeaths - 1, 6)) : 0;
    if (delay > 0) this.#io.log(`worker respawning too fast !!! i have to sleep a bit (${(delay / 1000).toFixed(1)} seconds)...`);
    setTimeout(() => {
      if (!this.#shuttingDown) this.#spawnWorker(worker.id, worker.respawnCount + 1);
    }, delay);
  }

  /** Stops every worker (graceful: they finish their requests first) and ends the master. */
  async shutdown(mode: 'graceful' | 'brutal', reason: string): Promise<void> {
    if (this.#shuttingDown && mode === 'graceful') return;
    this.#shuttingDown = true;
    this.#io.log(mode === 'graceful' ? `${reason} received... gracefully stopping workers` : `${reason}... brutally killing workers...`);
    for (const worker of this.#workers.values()) {
      worker.stopping = true;
      if (mode === 'brutal') worker.child.kill('SIGKILL');
      else if (worker.child.connected) worker.child.send({ t: 'stop', mode, reason } satisfies MasterToWorker);
    }
    if (mode === 'graceful') {
      const mercy = setTimeout(() => {
        for (const worker of this.#workers.values()) {
          this.#io.log(`worker ${worker.id} (pid: ${worker.pid}) is taking too much time to die...NO MERCY !!!`);
          worker.child.kill('SIGKILL');
        }
      }, this.options.workerReloadMercy * 1000);
      mercy.unref();
    }
    if (this.#workers.size === 0) this.#finish();
  }

  #finish(): void {
    for (const s of this.#sockets) {
      s.bound.close();
      if (this.options.vacuum && s.bound.address.kind === 'unix') {
        try {
          unlinkSync(s.bound.address.path);
        } catch {
          // already gone
        }
      }
    }
    if (this.options.vacuum && this.options.pidfile) {
      try {
        unlinkSync(this.options.pidfile);
      } catch {
        // already gone
      }
    }
    this.#io.log('goodbye to tsgi.');
    this.#done(this.#exitCode);
  }
}
