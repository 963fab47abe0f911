/** A stats document read from tsgi or uWSGI, with the time (ms since the epoch) it was read. */
export interface StatsSample {
  doc: Record<string, unknown>;
  at: number;
}

export interface TopFrameOptions {
  /** The address shown in the header. */
  address: string;
  /** The previous sample, for req/s; none: req/s shows `-`. */
  previous?: StatsSample;
  /** Cut lines to this width (a terminal's columns); none: full lines. */
  width?: number;
  /** Most in-flight requests listed under the table (default 10). */
  maxRequests?: number;
  /** Reverse-video the column header (for terminals). */
  ansi?: boolean;
}

interface CoreView {
  id: number;
  requests: number;
  inRequest: boolean;
  vars: string[];
  requestStart: number | null;
}

interface WorkerView {
  id: number;
  pid: number;
  status: string;
  requests: number;
  exceptions: number;
  signals: number;
  avgRt: number;
  rss: number;
  vsz: number;
  tx: number;
  respawns: number;
  harakiri: number;
  lastSpawn: number;
  background: number | null;
  waiting: number | null;
  cores: CoreView[];
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function optionalNum(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object') : [];
}

function workerView(w: Record<string, unknown>): WorkerView {
  return {
    id: num(w.id),
    pid: num(w.pid),
    status: str(w.status) || '-',
    requests: num(w.requests),
    exceptions: num(w.exceptions),
    signals: num(w.signals),
    avgRt: num(w.avg_rt),
    rss: num(w.rss),
    vsz: num(w.vsz),
    tx: num(w.tx),
    respawns: num(w.respawn_count),
    harakiri: num(w.harakiri_count),
    lastSpawn: num(w.last_spawn),
    background: optionalNum(w.tsgi_background_greenlets),
    waiting: optionalNum(w.tsgi_waiting_for_core),
    cores: records(w.cores).map((c) => ({
      id: num(c.id),
      requests: num(c.requests),
      inRequest: num(c.in_request) !== 0,
      vars: Array.isArray(c.vars) ? c.vars.filter((v): v is string => typeof v === 'string') : [],
      requestStart: optionalNum((c.req_info as Record<string, unknown> | undefined)?.request_start),
    })),
  };
}

/** Bytes as uwsgitop shows them: 512, 1.5K, 20.0M, 1.2G. */
export function humanSize(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? String(Math.round(value)) : `${value.toFixed(1)}${units[unit]}`;
}

/** A duration in seconds as `45s`, `12m03s`, `5h02m`, `3d04h`. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

function rate(current: number, previous: number | undefined, seconds: number | null): number | null {
  if (seconds === null || seconds <= 0 || previous === undefined) return null;
  // A respawned worker starts from 0 again; its new count is what it did since.
  return Math.max(0, current >= previous ? current - previous : current) / seconds;
}

function fmtRate(value: number | null): string {
  if (value === null) return '-';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

function table(rows: string[][], align: ('l' | 'r')[]): string[] {
  const widths = align.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (align[i] === 'l' ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd());
}

function varOf(vars: string[], key: string): string {
  const found = vars.find((v) => v.startsWith(`${key}=`));
  return found === undefined ? '' : found.slice(key.length + 1);
}

/**
 * One screen of `tsgi top`: a header (server and version, time, requests, req/s, listen queue,
 * bytes sent, load), one row per worker (id, pid, status, requests, req/s, exceptions, signals, avg
 * response time, rss, vsz, tx, respawns, harakiri, uptime, background greenlets, waiting
 * connections, busy/total cores), then the requests in flight. Reads tsgi's documents and real
 * uWSGI's alike; figures only tsgi reports show `-` for uWSGI.
 */
export function renderTopFrame(current: StatsSample, options: TopFrameOptions): string {
  const doc = current.doc;
  const workers = records(doc.workers).map(workerView);
  const previousWorkers = new Map(records(options.previous?.doc.workers).map((w) => [num(w.id), workerView(w)]));
  const elapsed = options.previous ? (current.at - options.previous.at) / 1000 : null;
  const nowSeconds = current.at / 1000;

  const server = doc.tsgi_server === 'tsgi' ? 'tsgi' : 'uwsgi';
  const version = str(doc.version);
  const totalRequests = workers.reduce((s, w) => s + w.requests, 0);
  const totalTx = workers.reduce((s, w) => s + w.tx, 0);
  const rates = workers.map((w) => rate(w.requests, previousWorkers.get(w.id)?.requests, elapsed));
  const totalRate = rates.some((r) => r !== null) ? rates.reduce<number>((s, r) => s + (r ?? 0), 0) : null;
  const allCores = workers.flatMap((w) => w.cores);
  const busyCores = allCores.filter((c) => c.inRequest).length;
  const time = new Date(current.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

  const lines: string[] = [];
  lines.push(
    `${server}${version ? `-${version}` : ''} @ ${options.address} - ${time} - req: ${totalRequests} - RPS: ${fmtRate(totalRate)} - lq: ${num(doc.listen_queue)} - tx: ${humanSize(totalTx)}`,
  );
  const pidPart = typeof doc.pid === 'number' ? `master pid: ${doc.pid} - ` : '';
  lines.push(`${pidPart}workers: ${workers.length} (${workers.filter((w) => w.status === 'busy').length} busy) - cores: ${busyCores}/${allCores.length} busy - load: ${num(doc.load)}${str(doc.cwd) ? ` - cwd: ${str(doc.cwd)}` : ''}`);
  lines.push('');

  const header = ['WID', '%', 'PID', 'STATUS', 'REQ', 'RPS', 'EXC', 'SIG', 'AVG', 'RSS', 'VSZ', 'TX', 'RESP', 'HARA', 'UP', 'BG', 'WAIT', 'CORES'];
  const rows = workers
    .map((w, i) => ({ w, r: rates[i] }))
    .sort((a, b) => a.w.id - b.w.id)
    .map(({ w, r }) => [
      String(w.id),
      totalRequests > 0 ? `${((w.requests / totalRequests) * 100).toFixed(1)}` : '0.0',
      String(w.pid),
      w.status,
      String(w.requests),
      fmtRate(r),
      String(w.exceptions),
      String(w.signals),
      `${Math.round(w.avgRt / 1000)}ms`,
      humanSize(w.rss),
      humanSize(w.vsz),
      humanSize(w.tx),
      String(w.respawns),
      String(w.harakiri),
      w.lastSpawn > 0 ? humanDuration(nowSeconds - w.lastSpawn) : '-',
      w.background === null ? '-' : String(w.background),
      w.waiting === null ? '-' : String(w.waiting),
      `${w.cores.filter((c) => c.inRequest).length}/${w.cores.length}`,
    ]);
  const rendered = table([header, ...rows], ['r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
  lines.push(options.ansi ? `\x1b[7m${rendered[0]}\x1b[0m` : rendered[0], ...rendered.slice(1));

  if (workers.length === 0) lines.push('(no workers reported)');
  const inFlight = workers.flatMap((w) => w.cores.filter((c) => c.inRequest).map((c) => ({ w, c })));
  if (inFlight.length > 0) {
    const max = options.maxRequests ?? 10;
    lines.push('', `requests in flight: ${inFlight.length}`);
    const reqRows = inFlight
      .sort((a, b) => (a.c.requestStart ?? Infinity) - (b.c.requestStart ?? Infinity))
      .slice(0, max)
      .map(({ w, c }) => [
        String(w.id),
        String(c.id),
        c.requestStart === null ? '-' : humanDuration(nowSeconds - c.requestStart),
        varOf(c.vars, 'REMOTE_ADDR') || '-',
        varOf(c.vars, 'REQUEST_METHOD') || '-',
        varOf(c.vars, 'REQUEST_URI') || varOf(c.vars, 'PATH_INFO') || '-',
      ]);
    lines.push(...table([['WID', 'CORE', 'AGE', 'REMOTE', 'METHOD', 'URI'], ...reqRows], ['r', 'r', 'r', 'l', 'l', 'l']));
    if (inFlight.length > max) lines.push(`... and ${inFlight.length - max} more`);
  }
  const width = options.width;
  const cut = width && width > 0 ? lines.map((l) => (visibleLength(l) > width ? truncate(l, width) : l)) : lines;
  return `${cut.join('\n')}\n`;
}

function visibleLength(line: string): number {
  return line.replace(/\x1b\[[0-9;]*m/g, '').length;
}

function truncate(line: string, width: number): string {
  if (!line.includes('\x1b[')) return line.slice(0, width);
  const inner = line.replace(/\x1b\[[0-9;]*m/g, '');
  return `\x1b[7m${inner.slice(0, width)}\x1b[0m`;
}
