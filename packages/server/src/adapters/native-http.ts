import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Environ } from '../engine/environ.js';
import type { TsgiApplication } from '../engine/request-runner.js';

/** What the engine hands a native listener besides Node's own `req` and `res`. */
export interface NativeHttpRequest {
  /** The TSGI environ of the request, built on first use (most Node and fetch apps never look). */
  readonly environ: Environ;
  /** The request's greenlet. */
  readonly greenlet: unknown;
}

/**
 * A request listener the engine may call with the `req`/`res` of its own HTTP server
 * (--http-socket), inside the request's greenlet, instead of going through the environ and
 * rebuilding them. It may return a promise; a rejection fails the request as a throw does.
 */
export type NativeHttpListener = (req: IncomingMessage, res: ServerResponse, request: NativeHttpRequest) => unknown;

const NATIVE_HTTP = Symbol.for('tsgi.server.nativeHttpListener');

/**
 * Marks a TSGI application made by an adapter with the native listener that serves the same app
 * straight from Node's `req`/`res`. The application itself stays what serves --socket (uwsgi).
 */
export function withNativeHttpListener(application: TsgiApplication, listener: NativeHttpListener): TsgiApplication {
  Object.defineProperty(application, NATIVE_HTTP, { value: listener, enumerable: false });
  return application;
}

/** The native listener of an application made by `fromNodeListener` or `fromFetch`, if it has one. */
export function nativeHttpListenerOf(application: TsgiApplication): NativeHttpListener | undefined {
  const listener = (application as unknown as Record<symbol, unknown>)[NATIVE_HTTP];
  return typeof listener === 'function' ? (listener as NativeHttpListener) : undefined;
}
