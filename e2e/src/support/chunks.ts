import { spawn } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { E2eError } from './errors.js';
import { hasBinary } from './peers.js';

/** A piece of a response body as one read delivered it. */
export interface TimedChunk {
  /** Seconds after the request was started. */
  at: number;
  data: Buffer;
}

export interface CurlResult {
  chunks: TimedChunk[];
  body: Buffer;
  /** curl's exit code (0 ok, 52 empty reply, 28 timeout, ...). */
  exitCode: number | null;
  stderr: string;
  /** Seconds until curl exited. */
  elapsed: number;
}

/**
 * Runs `curl -N -s URL` (no output buffering, as the seed advises for streaming apps) and records
 * each chunk of its stdout with its arrival time. `maxTime` in seconds (default 30).
 */
export async function curlN(url: string, options: { args?: string[]; maxTime?: number } = {}): Promise<CurlResult> {
  const bin = hasBinary('curl');
  if (!bin) throw new E2eError('TSGI_ERR_E2E_PEER_MISSING', 'curl is not installed (apt-get install curl)');
  const start = performance.now();
  const since = (): number => (performance.now() - start) / 1000;
  const child = spawn(bin, ['-N', '-s', '--max-time', String(options.maxTime ?? 30), ...(options.args ?? []), url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: TimedChunk[] = [];
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => chunks.push({ at: since(), data }));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return { chunks, body: Buffer.concat(chunks.map((c) => c.data)), exitCode, stderr, elapsed: since() };
}

export interface HttpChunksOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Seconds before the request is abandoned (default 30). */
  timeout?: number;
}

export interface HttpChunksResult {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  /** Seconds until the status line and headers arrived. */
  headersAt: number;
  chunks: TimedChunk[];
  body: Buffer;
  /** Seconds until the response ended. */
  elapsed: number;
  /** False when the connection closed before the response was complete. */
  complete: boolean;
}

/**
 * The same as `curlN` with Node's http client (one fresh connection, no keep-alive): every body
 * chunk with its arrival time. Also the general request helper of the interop checks.
 */
export function httpGetChunks(url: string, options: HttpChunksOptions = {}): Promise<HttpChunksResult> {
  const start = performance.now();
  const since = (): number => (performance.now() - start) / 1000;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const headersAt = since();
      const chunks: TimedChunk[] = [];
      res.on('data', (data: Buffer) => chunks.push({ at: since(), data }));
      const finish = (): void =>
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          headersAt,
          chunks,
          body: Buffer.concat(chunks.map((c) => c.data)),
          elapsed: since(),
          complete: res.complete,
        });
      res.once('end', finish);
      res.once('error', finish);
      res.once('aborted', finish);
    });
    req.setTimeout((options.timeout ?? 30) * 1000, () => {
      req.destroy(new E2eError('TSGI_ERR_E2E_LINE_TIMEOUT', `no complete response from ${url} within ${options.timeout ?? 30} s`));
    });
    req.once('error', reject);
    req.end(options.body);
  });
}
