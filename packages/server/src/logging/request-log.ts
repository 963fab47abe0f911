/**
 * What the engine knows about a finished request, as uWSGI's `struct wsgi_request` holds it when
 * `log_request()` runs. Times are in seconds (epoch seconds for `startTime`).
 */
export interface RequestLogRecord {
  /** Process id of the worker. */
  readonly pid: number;
  /** Worker id (1-based; uWSGI's `mywid`). */
  readonly workerId: number;
  /** App id (0 for the one app tsgi loads). */
  readonly appId: number;
  /** Requests this app has taken so far, this one included (uWSGI prints -1 while it is 0). */
  readonly appRequests: number;
  /** Requests of the whole instance so far (uWSGI's `workers[0].requests`). */
  readonly totalRequests: number;
  readonly remoteAddr: string;
  /** REMOTE_USER, or '' (printed as `()`). */
  readonly remoteUser: string;
  /** Number of request vars (key/value pairs). uWSGI counts keys and values, so the line shows twice this. */
  readonly varCount: number;
  /** Size in bytes of the request's vars block (the uwsgi packet's datasize). */
  readonly packetSize: number;
  /** Start of the request, epoch seconds (fractional). */
  readonly startTime: number;
  /** How long the request took, seconds (fractional). */
  readonly duration: number;
  readonly method: string;
  /** REQUEST_URI. */
  readonly uri: string;
  /** SERVER_PROTOCOL. */
  readonly protocol: string;
  readonly status: number;
  /** Body bytes sent. */
  readonly responseSize: number;
  readonly headerCount: number;
  /** Bytes of the status line and headers sent. */
  readonly headersSize: number;
  /** Times the request's greenlet switched out. */
  readonly switches: number;
  /** Async core id. */
  readonly core: number;
  /** The request vars (environ); non-string values are ignored. Used by %(var.NAME), %(host), %(uagent), %(referer), %(cl). */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Values the app set for the log (uWSGI's logvars, `uwsgi.set_logvar`); %(name) reads them for names that are not built in. */
  readonly logvars?: Readonly<Record<string, string>>;
  readonly modifier1?: number;
  readonly modifier2?: number;
  /** Bytes (0 when not measured, as uWSGI without --memory-report). */
  readonly rss?: number;
  readonly vsz?: number;
  readonly readErrors?: number;
  readonly writeErrors?: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** C's `ctime()` without the newline, in local time: `Tue Nov 24 16:16:54 2026`. */
export function formatCtime(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  const day = d.getDate();
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day < 10 ? ' ' : ''}${day} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`;
}

/** strftime `%d/%b/%Y:%H:%M:%S %z` in local time (uWSGI's %(ltime)): `24/Nov/2026:16:16:54 +0000`. */
export function formatLtime(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

/**
 * The response time in whole microseconds, truncated as uWSGI's integer µs clock differences are;
 * the small epsilon keeps 3.031 s (3030999.9999999995 µs in binary) at 3031000.
 */
export function durationMicros(record: Pick<RequestLogRecord, 'duration'>): number {
  return record.duration > 0 ? Math.floor(record.duration * 1e6 + 1e-3) : 0;
}

/** uWSGI's request line buffer; a longer line is replaced by a minimal one (core/logging.c). */
const LOG_LINE_MAX = 4096;

export interface RequestLogLineOptions {
  /** --log-micros: `in N micros` instead of `in N msecs`. */
  readonly micros?: boolean;
}

/**
 * The request log line in uWSGI's default format (core/logging.c uwsgi_logit_simple), without the
 * trailing newline:
 * `[pid: P|app: A|req: N/M] ADDR (USER) {V vars in B bytes} [CTIME] METHOD URI => generated X bytes in T msecs (PROTO STATUS) H headers in HB bytes (S switches on core C)`.
 * As in uWSGI, a line over 4096 bytes (with its newline) falls back to one without address, user,
 * method, URI and protocol.
 */
export function formatRequestLogLine(record: RequestLogRecord, options: RequestLogLineOptions = {}): string {
  const micros = durationMicros(record);
  const time = options.micros ? `${micros} micros` : `${Math.floor(micros / 1000)} msecs`;
  const head = `[pid: ${record.pid}|app: ${record.appId}|req: ${record.appRequests > 0 ? record.appRequests : -1}/${record.totalRequests}]`;
  const ctime = formatCtime(record.startTime);
  const tail = `${record.headerCount} headers in ${record.headersSize} bytes (${record.switches} switches on core ${record.core})`;
  const vars = `{${record.varCount * 2} vars in ${record.packetSize} bytes}`;
  const line =
    `${head} ${record.remoteAddr} (${record.remoteUser}) ${vars} [${ctime}] ${record.method} ${record.uri}` +
    ` => generated ${record.responseSize} bytes in ${time} (${record.protocol} ${record.status}) ${tail}`;
  if (line.length * 3 < LOG_LINE_MAX || Buffer.byteLength(line) + 1 <= LOG_LINE_MAX) return line;
  return `${head} 0.0.0.0 () ${vars} [${ctime}] - - => generated ${record.responseSize} bytes in ${time} (- ${record.status}) ${tail}`;
}
