/**
 * Every failure this package reports is a `UwsgiProtocolError` with a stable `code`. `logText` carries the line
 * uWSGI or nginx writes for the same condition (without the trailing newline), so a server can log exactly what
 * uWSGI users grep for.
 */
export type UwsgiErrorCode =
  | 'TSGI_ERR_UWSGI_BLOCK_SIZE'
  | 'TSGI_ERR_UWSGI_NULL_KEY'
  | 'TSGI_ERR_UWSGI_VAR_OVERRUN'
  | 'TSGI_ERR_UWSGI_MAX_VARS'
  | 'TSGI_ERR_UWSGI_CONTENT_LENGTH'
  | 'TSGI_ERR_UWSGI_LIMIT_POST'
  | 'TSGI_ERR_UWSGI_EOF_HEADER'
  | 'TSGI_ERR_UWSGI_EOF_VARS'
  | 'TSGI_ERR_UWSGI_EOF_BODY'
  | 'TSGI_ERR_UWSGI_CHUNKED'
  | 'TSGI_ERR_UWSGI_PARSER_FINISHED'
  | 'TSGI_ERR_UWSGI_PACKET_TOO_BIG'
  | 'TSGI_ERR_UWSGI_VALUE_TOO_BIG'
  | 'TSGI_ERR_UWSGI_NON_LATIN1'
  | 'TSGI_ERR_UWSGI_INVALID_ARGUMENT'
  | 'TSGI_ERR_UWSGI_CONNECT_REFUSED'
  | 'TSGI_ERR_UWSGI_CONNECT_FAILED'
  | 'TSGI_ERR_UWSGI_CONNECT_TIMEOUT'
  | 'TSGI_ERR_UWSGI_CONNECTION_RESET'
  | 'TSGI_ERR_UWSGI_SEND_TIMEOUT'
  | 'TSGI_ERR_UWSGI_READ_TIMEOUT'
  | 'TSGI_ERR_UWSGI_INVALID_HEADER'
  | 'TSGI_ERR_UWSGI_HEADER_TOO_BIG'
  | 'TSGI_ERR_UWSGI_PREMATURE_CLOSE'
  | 'TSGI_ERR_UWSGI_ABORTED'
  | 'TSGI_ERR_UWSGI_BODY_SOURCE'
  | 'TSGI_ERR_UWSGI_INVALID_SIGNAL'
  | 'TSGI_ERR_UWSGI_SIGNAL_UNDELIVERED'
  | 'TSGI_ERR_UWSGI_BAD_REPLY';

export interface UwsgiProtocolErrorOptions {
  /** The uWSGI/nginx log line for this condition, when one exists. */
  logText?: string;
  cause?: unknown;
}

export class UwsgiProtocolError extends Error {
  override name = 'UwsgiProtocolError';
  readonly code: UwsgiErrorCode;
  /** The log line uWSGI (server side) or nginx (client side) writes for the same condition; '' when there is none. */
  readonly logText: string;

  constructor(code: UwsgiErrorCode, message: string, options: UwsgiProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.logText = options.logText ?? '';
  }
}

/** True for errors produced by this package (any realm-local instance or a look-alike with a TSGI_ERR_UWSGI_ code). */
export function isUwsgiProtocolError(value: unknown): value is UwsgiProtocolError {
  return (
    value instanceof UwsgiProtocolError ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { code?: unknown }).code === 'string' &&
      (value as { code: string }).code.startsWith('TSGI_ERR_UWSGI_'))
  );
}
