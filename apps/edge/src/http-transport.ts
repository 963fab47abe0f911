import { Agent, type IncomingMessage, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { EdgeUpstreamError, type UpstreamFailure, type UpstreamPhase } from './errors.js';
import type { Transport, UpstreamAttempt, UpstreamResponse } from './transport.js';

interface Pending {
  onProxyReq(proxyReq: ClientRequest, socket: Socket): void;
  onProxyRes(proxyRes: IncomingMessage): void;
}

/**
 * HTTP upstreams through http-proxy-3 with `selfHandleResponse`, so the edge's own response stage does the
 * buffering. Timeouts are nginx's: connect, then send (between writes), then read (between reads).
 * `keepalive()` (read per request, so a reload applies) is how many idle connections are kept per server: with
 * 0 every request has its own connection (http-proxy-3 then asks for `Connection: close`, as nginx sends).
 */
export function createHttpTransport(keepalive: () => number = () => 0): Transport & { close(): void } {
  let agent: Agent | null = null;
  const agentFor = (idle: number): Agent | false => {
    if (idle <= 0) return false;
    if (agent === null || agent.maxFreeSockets !== idle) {
      agent?.destroy();
      // LIFO hands out the most recently used connection, the one least likely to be timed out by the server.
      agent = new Agent({ keepAlive: true, maxFreeSockets: idle, maxSockets: Infinity, scheduling: 'lifo' });
    }
    return agent;
  };
  const proxy = new ProxyServer({ selfHandleResponse: true, xfwd: false, prependPath: true, ignorePath: false });
  // Tries of one request run one after another, so the client request identifies the try in flight.
  const pending = new WeakMap<IncomingMessage, Pending>();
  proxy.on('proxyReq', (proxyReq, req, _res, _opts, socket) => pending.get(req)?.onProxyReq(proxyReq, socket));
  proxy.on('proxyRes', (proxyRes, req) => pending.get(req)?.onProxyRes(proxyRes));

  const transport = (attempt: UpstreamAttempt) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const { req, res, location: loc, server } = attempt;
      let settled = false;
      let phase: UpstreamPhase = 'connecting';
      let timedOut: UpstreamFailure | null = null;
      let proxyReq: ClientRequest | null = null;
      let connectTimer: NodeJS.Timeout | undefined;
      let resent = false;
      let onSocketTimeout: (() => void) | null = null;
      const fail = (err: EdgeUpstreamError) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        pending.delete(req);
        attempt.signal.removeEventListener('abort', onAbort);
        proxyReq?.destroy();
        reject(err);
      };
      const onAbort = () => fail(new EdgeUpstreamError('error', phase, { detail: 'client closed the request' }));
      attempt.signal.addEventListener('abort', onAbort, { once: true });

      pending.set(req, {
        onProxyReq(pr, socket) {
          proxyReq = pr;
          phase = 'connecting';
          const connected = () => {
            clearTimeout(connectTimer);
            phase = 'sending';
            socket.setTimeout(loc.sendTimeout * 1000);
          };
          if (socket.connecting) {
            connectTimer = setTimeout(() => {
              timedOut = 'connect-timeout';
              pr.destroy();
            }, loc.connectTimeout * 1000);
            socket.once('connect', connected);
          } else connected();
          pr.once('finish', () => {
            if (phase === 'sending') phase = 'header';
            socket.setTimeout(loc.readTimeout * 1000);
          });
          onSocketTimeout = () => {
            if (settled) return;
            timedOut = phase === 'connecting' ? 'connect-timeout' : 'timeout';
            pr.destroy();
          };
          socket.on('timeout', onSocketTimeout);
        },
        onProxyRes(proxyRes) {
          if (settled) {
            proxyRes.destroy();
            return;
          }
          settled = true;
          pending.delete(req);
          attempt.signal.removeEventListener('abort', onAbort);
          const socket = proxyRes.socket as Socket;
          // From here the response stage owns the read timeout (it knows when reading is paused on purpose).
          socket.setTimeout(0);
          // Only this try's listener: a kept-alive socket also carries the agent's own.
          if (onSocketTimeout) socket.off('timeout', onSocketTimeout);
          const headers: [string, string][] = [];
          for (let i = 0; i < proxyRes.rawHeaders.length; i += 2) headers.push([proxyRes.rawHeaders[i], proxyRes.rawHeaders[i + 1]]);
          resolve({
            status: proxyRes.statusCode ?? 502,
            statusText: proxyRes.statusMessage ?? '',
            headers,
            body: proxyRes,
            timesOwnReads: false,
            socket,
            destroy: () => {
              proxyRes.destroy();
              socket.destroy();
            },
          });
        },
      });

      const target = 'path' in server.address
        ? { socketPath: server.address.path, host: 'localhost', port: 80, protocol: 'http:' }
        : { host: server.address.host!, port: server.address.port, protocol: 'http:' };
      req.url = attempt.uri;
      req.headers = attempt.headers as typeof req.headers;
      const agent = agentFor(keepalive());
      const send = () =>
        proxy.web(
          req,
          res,
          {
            target,
            agent,
            buffer: attempt.body ?? Readable.from([]),
            // http-proxy-3 builds the outgoing request options on top of this object; nginx's "too big header"
            // limit is buffer_size, so the client parser gets the same bound.
            ssl: { maxHeaderSize: loc.bufferSize },
          },
          onError,
        );
      const onError = (err: Error) => {
        const code = (err as NodeJS.ErrnoException).code;
        // A kept-alive connection the server closed meanwhile: nothing of the request was processed, so it goes
        // again on a new connection (nginx does the same for a cached connection). Only a body-less request can
        // be sent again here; one with a body fails over as any other error.
        if (!settled && !timedOut && !resent && proxyReq?.reusedSocket && attempt.body === null && (code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up')) {
          resent = true;
          proxyReq = null;
          send();
          return;
        }
        if (timedOut) fail(new EdgeUpstreamError(timedOut, phase, { cause: err }));
        else if (code === 'ECONNREFUSED') fail(new EdgeUpstreamError('refused', 'connecting', { cause: err }));
        else if (code === 'HPE_HEADER_OVERFLOW') fail(new EdgeUpstreamError('too-big-header', 'header', { cause: err }));
        else if (code?.startsWith('HPE_')) fail(new EdgeUpstreamError('invalid-header', 'header', { cause: err }));
        else if (err.message === 'socket hang up') fail(new EdgeUpstreamError('premature-close', phase === 'connecting' ? 'header' : phase, { cause: err }));
        else if (code === 'ECONNRESET' || code === 'EPIPE') fail(new EdgeUpstreamError('reset', phase, { cause: err }));
        else fail(new EdgeUpstreamError('error', phase, { detail: `${code ?? ''} ${err.message}`.trim(), cause: err }));
      };
      send();
    });
  /** Closes the idle kept-alive connections (in-flight ones close when their response is done). */
  const close = () => {
    agent?.destroy();
    agent = null;
  };
  return Object.assign(transport, { close });
}
