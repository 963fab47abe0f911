/**
 * Errors of @tsgi/server. Each has a stable `code`; where uWSGI users know a log text for the same
 * failure, the message carries it.
 */
export class TsgiError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The app module could not be found, imported, or does not export a callable. */
export class AppLoadError extends TsgiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSGI_ERR_APP_LOAD', message, options);
  }
}

/** A --worker-node-arg flag that Node refuses: checked once at startup, so no worker dies of it in a respawn loop. */
export class WorkerNodeArgError extends TsgiError {
  constructor(message: string) {
    super('TSGI_ERR_WORKER_NODE_ARG', message);
  }
}

/** A socket address is malformed or cannot be bound. */
export class SocketBindError extends TsgiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSGI_ERR_SOCKET_BIND', message, options);
  }
}

/** WSGI's start_response rules were broken by the app (called twice without excInfo, bad status, bad headers). */
export class StartResponseError extends TsgiError {
  constructor(message: string) {
    super('TSGI_ERR_START_RESPONSE', message);
  }
}

/** The app returned something that is not a valid response body. */
export class ResponseBodyError extends TsgiError {
  constructor(message: string) {
    super('TSGI_ERR_RESPONSE_BODY', message);
  }
}

/** The client went away while the response was being written (uWSGI: `uwsgi_response_write_body_do(): Broken pipe`). */
export class ClientDisconnectedError extends TsgiError {
  constructor(message = 'client disconnected') {
    super('TSGI_ERR_CLIENT_GONE', message);
  }
}

/** A write waited longer than --socket-timeout for the client to drain (uWSGI: `uwsgi_response_write_body_do() TIMEOUT !!!`). */
export class WriteTimeoutError extends TsgiError {
  constructor(seconds: number) {
    super('TSGI_ERR_WRITE_TIMEOUT', `uwsgi_response_write_body_do() TIMEOUT !!! (no progress for ${seconds} s)`);
  }
}

/** No complete request header arrived within --socket-timeout. */
export class RequestReadTimeoutError extends TsgiError {
  constructor(seconds: number) {
    super('TSGI_ERR_REQUEST_TIMEOUT', `no complete request arrived within ${seconds} s (--socket-timeout); connection closed`);
  }
}

/** A request ran longer than --harakiri and was cancelled (its greenlet received this at its current wait). */
export class HarakiriError extends TsgiError {
  constructor(seconds: number) {
    super('TSGI_ERR_HARAKIRI', `HARAKIRI: request cancelled after ${seconds} s (--harakiri)`);
  }
}

/** uWSGI's async API (suspend, wait_fd_read, ...) used in gevent mode, where the seed forbids it. */
export class AsyncApiForbiddenError extends TsgiError {
  constructor(api: string, instead: string) {
    super(
      'TSGI_ERR_ASYNC_API_FORBIDDEN',
      `uwsgi.${api}() is uWSGI's async API; mixing it with the gevent loop engine is EXPLICITLY FORBIDDEN. Use ${instead} from @tsgi/hub instead.`,
    );
  }
}

/** A request-scoped uwsgi API was called outside a tsgi worker or outside any request. */
export class NoRequestContextError extends TsgiError {
  constructor(api: string) {
    super(
      'TSGI_ERR_NO_REQUEST_CONTEXT',
      `uwsgi.${api}() needs a request: call it from the request's greenlet or a greenlet it spawned, inside a tsgi worker`,
    );
  }
}

/** The uwsgi API module was used outside a tsgi worker process. */
export class NotInWorkerError extends TsgiError {
  constructor(api: string) {
    super('TSGI_ERR_NOT_IN_WORKER', `uwsgi.${api} is only available inside a tsgi worker (run the app with \`tsgi\`)`);
  }
}
