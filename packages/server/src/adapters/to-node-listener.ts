import type { IncomingMessage, ServerResponse } from 'node:http';
import { getCurrent, spawn, type Greenlet } from '@tsgi/hub';
import { addTsgiKeys, httpRequestVars } from '../engine/environ.js';
import { RequestRunner, type TsgiApplication } from '../engine/request-runner.js';
import { HttpResponseSink } from '../engine/response-sink.js';
import { TsgiInput } from '../engine/tsgi-input.js';
import { ClientDisconnectedError } from '../errors.js';
import { TSGI_VERSION } from '../version.js';
import { AdapterArgumentError } from './errors.js';

export interface ToNodeListenerOptions {
  /** Seconds a body read or a write may wait for the client (default 30, as --socket-timeout). */
  socketTimeout?: number;
  /** Called with what the app threw (default: written to stderr with its stack). The client gets a 500 if nothing was sent yet. */
  onError?: (error: unknown, req: IncomingMessage) => void;
  /** `uwsgi.core` in the environ (default 0). */
  core?: number;
}

function defaultOnError(error: unknown, req: IncomingMessage): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[TSGI_ERR_APP_EXCEPTION] ${req.method} ${req.url} failed: ${detail}\n`);
}

/**
 * Mounts a TSGI application in an existing Node server: `http.createServer(toNodeListener(app))`,
 * or as the last handler of an Express/Koa stack. Each request runs in its own greenlet with the
 * environ the engine would build for --http-socket; the listener returns that greenlet.
 */
export function toNodeListener(application: TsgiApplication, options: ToNodeListenerOptions = {}): (req: IncomingMessage, res: ServerResponse) => Greenlet<void> {
  if (typeof application !== 'function') {
    throw new AdapterArgumentError(`toNodeListener() takes a TSGI application(environ, startResponse), got ${application === null ? 'null' : typeof application}`);
  }
  const timeoutSeconds = options.socketTimeout ?? 30;
  const onError = options.onError ?? defaultOnError;
  return function tsgiListener(req, res) {
    return spawn(async () => {
      const vars = httpRequestVars(req, req.socket.localPort ?? 0);
      const input = new TsgiInput(req, { timeoutSeconds });
      const environ = addTsgiKeys(vars, {
        input,
        errors: { write: (text: string) => process.stderr.write(String(text)), flush: () => undefined },
        multiprocess: false,
        core: options.core ?? 0,
        greenlet: getCurrent(),
        uwsgiVersion: TSGI_VERSION,
      });
      const sink = new HttpResponseSink(res, timeoutSeconds);
      const runner = new RequestRunner(sink);
      try {
        await runner.run(application, environ);
        // Unread body bytes would be parsed as the next request on a keep-alive connection.
        if (!req.complete && !res.destroyed) await input.discard().catch(() => res.destroy());
      } catch (error) {
        if (error instanceof ClientDisconnectedError || sink.clientGone) {
          sink.abort();
          return;
        }
        onError(error, req);
        if (!(await runner.sendInternalError())) sink.abort();
      }
    });
  };
}
