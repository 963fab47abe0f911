import { uwsgiRequest, type UwsgiProtocolError, type UwsgiResponse } from '@tsgi/uwsgi-protocol';
import { EdgeUpstreamError, type UpstreamFailure, type UpstreamPhase } from './errors.js';
import type { Transport, UpstreamAttempt, UpstreamResponse } from './transport.js';

function phaseOf(err: UwsgiProtocolError): UpstreamPhase {
  const t = err.logText ?? '';
  if (t.includes('while connecting')) return 'connecting';
  if (t.includes('while sending')) return 'sending';
  if (t.includes('while reading upstream')) return 'body';
  return 'header';
}

/** Maps the protocol client's coded errors onto the edge's upstream failures (and so onto 502/504 and log lines). */
export function upstreamErrorFromUwsgi(err: unknown): EdgeUpstreamError {
  const e = err as UwsgiProtocolError;
  const table: Record<string, [UpstreamFailure, UpstreamPhase?]> = {
    TSGI_ERR_UWSGI_CONNECT_REFUSED: ['refused', 'connecting'],
    TSGI_ERR_UWSGI_CONNECT_TIMEOUT: ['connect-timeout', 'connecting'],
    TSGI_ERR_UWSGI_SEND_TIMEOUT: ['timeout', 'sending'],
    TSGI_ERR_UWSGI_READ_TIMEOUT: ['timeout'],
    TSGI_ERR_UWSGI_CONNECTION_RESET: ['reset'],
    TSGI_ERR_UWSGI_INVALID_HEADER: ['invalid-header', 'header'],
    TSGI_ERR_UWSGI_HEADER_TOO_BIG: ['too-big-header', 'header'],
    TSGI_ERR_UWSGI_PREMATURE_CLOSE: ['premature-close'],
  };
  const hit = table[e?.code ?? ''];
  if (hit) return new EdgeUpstreamError(hit[0], hit[1] ?? phaseOf(e), { cause: err });
  const phase = e?.code === 'TSGI_ERR_UWSGI_CONNECT_FAILED' ? 'connecting' : phaseOf(e);
  return new EdgeUpstreamError('error', phase, { detail: (err as Error)?.message ?? String(err), cause: err });
}

/** uwsgi upstreams through @tsgi/uwsgi-protocol's client: one connection per request, close-delimited body. */
export function createUwsgiTransport(varsOf: (attempt: UpstreamAttempt) => [string, string][]): Transport {
  return (attempt) => {
    const loc = attempt.location;
    return uwsgiRequest(attempt.server.address as { host: string; port: number } | { path: string }, {
      vars: varsOf(attempt),
      body: attempt.body,
      modifier1: loc.modifier1,
      modifier2: loc.modifier2,
      connectTimeout: loc.connectTimeout,
      sendTimeout: loc.sendTimeout,
      readTimeout: loc.readTimeout,
      maxHeaderSize: Math.max(16, loc.bufferSize),
      signal: attempt.signal,
      highWaterMark: loc.bufferSize,
    }).then(fromUwsgi, (err: unknown) => {
      throw upstreamErrorFromUwsgi(err);
    });
  };
}

function fromUwsgi(response: UwsgiResponse): UpstreamResponse {
  const body = response.body;
  return {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    body,
    // The client fails the body with TSGI_ERR_UWSGI_READ_TIMEOUT after readTimeout between two reads, and does
    // not count while the body is paused.
    timesOwnReads: true,
    socket: null,
    destroy: () => body.destroy(),
  };
}
