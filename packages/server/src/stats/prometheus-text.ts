import type { StatsSnapshot, WorkerSnapshot } from './stats-snapshot.js';

/** The Content-Type of Prometheus' text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type MetricType = 'counter' | 'gauge';
type Labels = Record<string, string>;

interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: { labels: Labels; value: number }[];
}

/** uWSGI's status words as an enum-style gauge: every state gets a series, the current one reads 1. */
const WORKER_STATES = ['idle', 'busy', 'pause', 'cheap', 'signal'] as const;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function workerState(status: string): (typeof WORKER_STATES)[number] {
  if (status.startsWith('sig')) return 'signal';
  return (WORKER_STATES as readonly string[]).includes(status) ? (status as (typeof WORKER_STATES)[number]) : 'idle';
}

class Families {
  readonly #families = new Map<string, Family>();

  add(name: string, type: MetricType, help: string, labels: Labels, value: number): void {
    let family = this.#families.get(name);
    if (!family) {
      family = { name, type, help, samples: [] };
      this.#families.set(name, family);
    }
    family.samples.push({ labels, value: finite(value) });
  }

  /** Declares a family with no samples yet, so HELP/TYPE appear even with zero workers. */
  declare(name: string, type: MetricType, help: string): void {
    if (!this.#families.has(name)) this.#families.set(name, { name, type, help, samples: [] });
  }

  render(): string {
    let out = '';
    for (const family of this.#families.values()) {
      out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
      for (const sample of family.samples) {
        const labels = Object.entries(sample.labels);
        const labelText = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
        out += `${family.name}${labelText} ${formatValue(sample.value)}\n`;
      }
    }
    return out;
  }
}

const WORKER_METRICS: [name: string, type: MetricType, help: string, read: (w: WorkerSnapshot) => number][] = [
  ['tsgi_worker_pid', 'gauge', 'Process id of the worker.', (w) => w.pid],
  ['tsgi_worker_accepting', 'gauge', '1 while the worker accepts new connections (it has a free core and is not draining).', (w) => (w.accepting ? 1 : 0)],
  ['tsgi_worker_requests_total', 'counter', 'Requests the worker finished.', (w) => w.requests],
  ['tsgi_worker_exceptions_total', 'counter', 'Requests that ended with an exception from the app.', (w) => w.exceptions],
  ['tsgi_worker_harakiri_total', 'counter', 'Requests cancelled by --harakiri.', (w) => w.harakiriCount],
  ['tsgi_worker_signals_total', 'counter', 'uWSGI signals delivered to the worker.', (w) => w.signals],
  ['tsgi_worker_signal_queue', 'gauge', 'uWSGI signals waiting to be handled by the worker.', (w) => w.signalQueue],
  ['tsgi_worker_rss_bytes', 'gauge', 'Resident set size of the worker.', (w) => w.rss],
  ['tsgi_worker_vsz_bytes', 'gauge', 'Virtual memory size of the worker.', (w) => w.vsz],
  ['tsgi_worker_running_time_seconds_total', 'counter', 'Time spent serving requests (uWSGI running_time).', (w) => finite(w.runningTime) / 1e6],
  ['tsgi_worker_avg_response_time_seconds', 'gauge', 'Average response time (uWSGI avg_rt).', (w) => finite(w.avgRt) / 1e6],
  ['tsgi_worker_last_spawn_timestamp_seconds', 'gauge', 'When the worker was (re)spawned, seconds since the epoch.', (w) => w.lastSpawn],
  ['tsgi_worker_respawns_total', 'counter', 'Times this worker slot was respawned.', (w) => w.respawnCount],
  ['tsgi_worker_transmitted_bytes_total', 'counter', 'Response bytes sent by the worker (uWSGI tx).', (w) => w.tx],
  ['tsgi_worker_cores', 'gauge', 'Async cores of the worker (--gevent N).', (w) => (Array.isArray(w.cores) ? w.cores.length : 0)],
  ['tsgi_worker_busy_cores', 'gauge', 'Async cores serving a request now.', (w) => (Array.isArray(w.cores) ? w.cores.filter((c) => c.inRequest).length : 0)],
  ['tsgi_worker_background_greenlets', 'gauge', 'Greenlets spawned by requests that are still alive.', (w) => w.backgroundGreenlets],
  ['tsgi_worker_waiting_for_core', 'gauge', 'Connections or requests waiting in the worker for a free core.', (w) => w.waitingForCore],
  ['tsgi_worker_unhandled_greenlet_errors_total', 'counter', 'Greenlet errors nobody handled.', (w) => w.unhandledGreenletErrors],
];

/**
 * The figures of the stats document in Prometheus' text exposition format (0.0.4): instance
 * gauges, one series per socket, per worker (`{worker="1"}`) and per core (`{worker="1",core="0"}`).
 * Times are in seconds, as Prometheus names them, not uWSGI's µs.
 */
export function prometheusText(snapshot: StatsSnapshot): string {
  const f = new Families();
  f.add('tsgi_info', 'gauge', 'The tsgi instance: version and master pid as labels, value 1.', { version: String(snapshot.version ?? ''), pid: String(finite(snapshot.pid)) }, 1);
  f.add('tsgi_listen_queue', 'gauge', 'Connections waiting in the listen backlogs of all sockets (uWSGI listen_queue).', {}, snapshot.listenQueue);
  f.add('tsgi_listen_queue_errors_total', 'counter', 'Listen queue overflows seen (uWSGI listen_queue_errors).', {}, snapshot.listenQueueErrors);
  f.add('tsgi_signal_queue', 'gauge', 'uWSGI signals waiting in the master queue.', {}, snapshot.signalQueue);
  f.add('tsgi_load', 'gauge', 'Requests in flight across workers (uWSGI load).', {}, snapshot.load);
  f.add('tsgi_workers', 'gauge', 'Workers the master reports.', {}, Array.isArray(snapshot.workers) ? snapshot.workers.length : 0);

  f.declare('tsgi_socket_queue', 'gauge', 'Connections waiting in this socket\'s listen backlog.');
  f.declare('tsgi_socket_max_queue', 'gauge', 'Listen backlog size of this socket (--listen).');
  for (const socket of Array.isArray(snapshot.sockets) ? snapshot.sockets : []) {
    const labels = { socket: String(socket.name ?? ''), proto: String(socket.proto ?? '') };
    f.add('tsgi_socket_queue', 'gauge', '', labels, socket.queue);
    f.add('tsgi_socket_max_queue', 'gauge', '', labels, socket.maxQueue);
  }

  const workers = Array.isArray(snapshot.workers) ? snapshot.workers : [];
  for (const [name, type, help] of WORKER_METRICS) f.declare(name, type, help);
  f.declare('tsgi_worker_status', 'gauge', 'uWSGI status of the worker as an enum: the series of its current state reads 1 (sig<N> is "signal").');
  for (const worker of workers) {
    const wl = { worker: String(finite(worker.id)) };
    for (const [name, type, help, read] of WORKER_METRICS) f.add(name, type, help, wl, read(worker));
    const state = workerState(String(worker.status ?? ''));
    for (const s of WORKER_STATES) f.add('tsgi_worker_status', 'gauge', '', { ...wl, state: s }, s === state ? 1 : 0);
  }

  f.declare('tsgi_core_requests_total', 'counter', 'Requests served by this async core.');
  f.declare('tsgi_core_in_request', 'gauge', '1 while the core serves a request.');
  f.declare('tsgi_core_write_errors_total', 'counter', 'Response write errors on this core.');
  f.declare('tsgi_core_read_errors_total', 'counter', 'Request read errors on this core.');
  for (const worker of workers) {
    for (const core of Array.isArray(worker.cores) ? worker.cores : []) {
      const cl = { worker: String(finite(worker.id)), core: String(finite(core.id)) };
      f.add('tsgi_core_requests_total', 'counter', '', cl, core.requests);
      f.add('tsgi_core_in_request', 'gauge', '', cl, core.inRequest ? 1 : 0);
      f.add('tsgi_core_write_errors_total', 'counter', '', cl, core.writeErrors);
      f.add('tsgi_core_read_errors_total', 'counter', '', cl, core.readErrors);
    }
  }
  return f.render();
}
