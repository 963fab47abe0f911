import http from 'node:http';
import net from 'node:net';

/** The stats address could not be read or did not hold a stats document. */
export class StatsReadError extends Error {
  readonly code = 'TSGI_ERR_TOP_READ';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StatsReadError';
  }
}

export type StatsTarget =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'http'; url: URL };

/**
 * Reads a stats address as uwsgitop does: `http://...` (uWSGI's --stats-http), `host:port`,
 * `:port` (loopback), `[v6]:port`, or a unix socket path.
 */
export function parseStatsTarget(spec: string): StatsTarget {
  const text = spec.trim();
  if (/^https?:\/\//i.test(text)) {
    try {
      return { kind: 'http', url: new URL(text) };
    } catch (error) {
      throw new StatsReadError(`malformed stats URL "${spec}"`, { cause: error });
    }
  }
  if (text === '') throw new StatsReadError('no stats address given (host:port, :port, a unix socket path or http://host:port)');
  if (text.includes('/') || !text.includes(':')) return { kind: 'unix', path: text };
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StatsReadError(`malformed port in stats address "${spec}" (expected 1-65535)`);
  if (host === '' || host === '0.0.0.0' || host === '*') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return { kind: 'tcp', host, port };
}

export function formatStatsTarget(target: StatsTarget): string {
  if (target.kind === 'http') return target.url.href;
  if (target.kind === 'unix') return target.path;
  return net.isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

function parseDocument(text: string, where: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new StatsReadError(`${where} did not answer a JSON document (${(error as Error).message}); is it a --stats address?`, { cause: error });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new StatsReadError(`${where} answered JSON that is not a stats document`);
  const record = doc as Record<string, unknown>;
  if (!Array.isArray(record.workers) && typeof record.error === 'string') {
    throw new StatsReadError(`${where} reported: ${record.error}${typeof record.code === 'string' ? ` [${record.code}]` : ''}`);
  }
  return record;
}

/** Fetches one stats document (uWSGI's schema) from `target`, within `timeout` seconds. */
export function readStats(target: StatsTarget, timeout = 5): Promise<Record<string, unknown>> {
  const where = formatStatsTarget(target);
  return new Promise((resolve, reject) => {
    const fail = (error: Error) =>
      reject(error instanceof StatsReadError ? error : new StatsReadError(`unable to get uWSGI statistics from ${where}: ${error.message}`, { cause: error }));
    if (target.kind === 'http') {
      const req = http.get(target.url, { agent: false, timeout: timeout * 1000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', fail);
        res.on('end', () => {
          try {
            const doc = parseDocument(body, where);
            if ((res.statusCode ?? 0) >= 400 && !Array.isArray(doc.workers)) throw new StatsReadError(`${where} answered HTTP ${res.statusCode}`);
            resolve(doc);
          } catch (error) {
            fail(error as Error);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} s`)));
      req.on('error', fail);
      return;
    }
    const socket = target.kind === 'unix' ? net.connect(target.path) : net.connect(target.port, target.host);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeout * 1000, () => socket.destroy(new Error(`no complete answer within ${timeout} s`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', fail);
    socket.on('end', () => {
      try {
        resolve(parseDocument(Buffer.concat(chunks).toString('utf8'), where));
      } catch (error) {
        fail(error as Error);
      }
    });
  });
}
