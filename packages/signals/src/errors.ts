/** Stable codes of every error this package throws. */
export type SignalErrorCode =
  | 'TSGI_ERR_SIGNAL_NUMBER'
  | 'TSGI_ERR_SIGNAL_TARGET_UNKNOWN'
  | 'TSGI_ERR_SIGNAL_TARGET_UNSUPPORTED'
  | 'TSGI_ERR_SIGNAL_HANDLER'
  | 'TSGI_ERR_SIGNAL_REREGISTER'
  | 'TSGI_ERR_SIGNAL_LIMIT'
  | 'TSGI_ERR_SIGNAL_SOURCE_INVALID'
  | 'TSGI_ERR_SIGNAL_FILE_MONITOR'
  | 'TSGI_ERR_SIGNAL_NO_FREE'
  | 'TSGI_ERR_SIGNAL_ALLOW_INVALID'
  | 'TSGI_ERR_SIGNAL_OPTION'
  | 'TSGI_ERR_SIGNAL_TRANSPORT';

/**
 * The one error class of @tsgi/signals. `code` is stable; `message` says what to do and carries
 * uWSGI's log text where users know one.
 */
export class SignalError extends Error {
  readonly code: SignalErrorCode;

  constructor(code: SignalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignalError';
    this.code = code;
  }
}

/** Plain-object form of a SignalError, for sending it over IPC. */
export interface SerializedSignalError {
  code: SignalErrorCode;
  message: string;
}

export function serializeSignalError(err: SignalError): SerializedSignalError {
  return { code: err.code, message: err.message };
}

/** Rebuilds a SignalError from its serialized form; anything malformed becomes a TSGI_ERR_SIGNAL_TRANSPORT error. */
export function deserializeSignalError(value: unknown): SignalError {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as SerializedSignalError).code === 'string' &&
    (value as SerializedSignalError).code.startsWith('TSGI_ERR_SIGNAL_') &&
    typeof (value as SerializedSignalError).message === 'string'
  ) {
    return new SignalError((value as SerializedSignalError).code, (value as SerializedSignalError).message);
  }
  return new SignalError('TSGI_ERR_SIGNAL_TRANSPORT', `malformed signal error received from the transport: ${safeString(value)}`);
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
