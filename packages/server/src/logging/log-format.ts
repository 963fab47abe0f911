import { durationMicros, formatCtime, formatLtime, type RequestLogRecord } from './request-log.js';

type Chunk = (record: RequestLogRecord) => string | number | undefined;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const varOf = (record: RequestLogRecord, name: string): string | undefined => str(record.vars?.[name]);

/** uWSGI's built-in %(name) log variables (core/logging.c uwsgi_register_logchunks), with the same meanings. */
const BUILTINS: Record<string, Chunk> = {
  uri: (r) => r.uri,
  method: (r) => r.method,
  user: (r) => r.remoteUser,
  addr: (r) => r.remoteAddr,
  host: (r) => varOf(r, 'HTTP_HOST'),
  proto: (r) => r.protocol,
  uagent: (r) => varOf(r, 'HTTP_USER_AGENT'),
  referer: (r) => varOf(r, 'HTTP_REFERER'),
  status: (r) => r.status,
  /** Body bytes. */
  rsize: (r) => r.responseSize,
  /** Header bytes. */
  hsize: (r) => r.headersSize,
  /** Header and body bytes (uWSGI's `size` is the sum, not an alias of rsize). */
  size: (r) => r.headersSize + r.responseSize,
  cl: (r) => {
    const n = Number.parseInt(varOf(r, 'CONTENT_LENGTH') ?? '', 10);
    return Number.isFinite(n) ? n : 0;
  },
  micros: (r) => durationMicros(r),
  msecs: (r) => Math.floor(durationMicros(r) / 1000),
  secs: (r) => (durationMicros(r) / 1e6).toFixed(6),
  tmsecs: (r) => Math.floor(r.startTime * 1000),
  tmicros: (r) => Math.floor(r.startTime * 1e6),
  time: (r) => Math.floor(r.startTime),
  ltime: (r) => formatLtime(r.startTime),
  // uWSGI's ftime is ltime unless --log-strftime is set, which tsgi does not have.
  ftime: (r) => formatLtime(r.startTime),
  ctime: (r) => formatCtime(r.startTime),
  // Time of writing the line, not of the request (uwsgi_now() in uWSGI).
  epoch: () => Math.floor(Date.now() / 1000),
  pid: (r) => r.pid,
  wid: (r) => r.workerId,
  switches: (r) => r.switches,
  vars: (r) => r.varCount * 2,
  core: (r) => r.core,
  vsz: (r) => r.vsz ?? 0,
  rss: (r) => r.rss ?? 0,
  vszM: (r) => Math.floor((r.vsz ?? 0) / 1024 / 1024),
  rssM: (r) => Math.floor((r.rss ?? 0) / 1024 / 1024),
  pktsize: (r) => r.packetSize,
  modifier1: (r) => r.modifier1 ?? 0,
  modifier2: (r) => r.modifier2 ?? 0,
  headers: (r) => r.headerCount,
  werr: (r) => r.writeErrors ?? 0,
  rerr: (r) => r.readErrors ?? 0,
  ioerr: (r) => (r.writeErrors ?? 0) + (r.readErrors ?? 0),
};

/** The names %(name) knows besides `var.NAME` and the app's logvars. */
export const LOG_FORMAT_VARIABLES: readonly string[] = Object.freeze(Object.keys(BUILTINS));

function chunkFor(name: string): Chunk {
  const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (builtin) return builtin;
  if (name.startsWith('var.')) {
    const key = name.slice(4);
    return (r) => varOf(r, key);
  }
  // As in uWSGI: any other name is a logvar the app may set for the request; unset, it logs "-".
  return (r) => r.logvars?.[name];
}

export type LogFormatter = (record: RequestLogRecord) => string;

/**
 * Compiles a --logformat string once into a function. `%(name)` is one of uWSGI's variables
 * (LOG_FORMAT_VARIABLES), `%(var.NAME)` a request var (`%(var.HTTP_X_REQUEST_ID)`), and any other
 * name a logvar. As in uWSGI, a variable with an empty value logs `-`; text outside `%(...)`,
 * including an unterminated `%(`, is copied as it is. No trailing newline.
 */
export function compileLogFormat(format: string): LogFormatter {
  const literals: string[] = [];
  const chunks: Chunk[] = [];
  const re = /%\(([^()]+)\)/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format)) !== null) {
    literals.push(format.slice(last, m.index));
    chunks.push(chunkFor(m[1]));
    last = m.index + m[0].length;
  }
  const tail = format.slice(last);
  const n = chunks.length;
  if (n === 0) return () => tail;
  return (record) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      const value = chunks[i](record);
      out += literals[i];
      out += value === undefined || value === '' ? '-' : value;
    }
    return out + tail;
  };
}
