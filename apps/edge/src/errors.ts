/**
 * Every failure the edge reports carries a stable `code` so logs, tests and users' tooling can match on it
 * without parsing messages. `status` is the HTTP status a client sees when the error ends its request.
 */
export class EdgeError extends Error {
  readonly code: string;
  readonly status: number;
  /** The nginx-style error-log text (without the ", client: ..." context that the logger appends). */
  readonly logText: string;
  constructor(code: string, message: string, options: { status?: number; logText?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.logText = options.logText ?? message;
  }
}

/** A flag or configuration key has a bad value; `key` names it as the user wrote it. */
export class EdgeConfigError extends EdgeError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('TSGI_ERR_EDGE_CONFIG', `${key}: ${message}`, { status: 500 });
    this.key = key;
  }
}

/** Which phase of talking to an upstream an error happened in; it becomes the nginx "while ..." clause. */
export type UpstreamPhase = 'connecting' | 'sending' | 'header' | 'body';

export const PHASE_TEXT: Record<UpstreamPhase, string> = {
  connecting: 'while connecting to upstream',
  sending: 'while sending request to upstream',
  header: 'while reading response header from upstream',
  body: 'while reading upstream',
};

/** The kinds of upstream failure, with the code, the client status, and nginx's log text for each. */
export type UpstreamFailure =
  | 'refused'
  | 'connect-timeout'
  | 'timeout'
  | 'reset'
  | 'premature-close'
  | 'invalid-header'
  | 'too-big-header'
  | 'no-live-upstreams'
  | 'error';

const FAILURES: Record<UpstreamFailure, { code: string; status: number; text: string; advice: string }> = {
  refused: {
    code: 'TSGI_ERR_EDGE_UPSTREAM_REFUSED',
    status: 502,
    text: 'connect() failed (111: Connection refused)',
    advice: 'is the upstream running and listening on that address?',
  },
  'connect-timeout': {
    code: 'TSGI_ERR_EDGE_UPSTREAM_CONNECT_TIMEOUT',
    status: 504,
    text: 'upstream timed out (110: Connection timed out)',
    advice: 'the upstream did not accept the connection within connect_timeout',
  },
  timeout: {
    code: 'TSGI_ERR_EDGE_UPSTREAM_TIMEOUT',
    status: 504,
    text: 'upstream timed out (110: Connection timed out)',
    advice: 'the upstream stayed silent for longer than read_timeout/send_timeout; raise them for slow apps',
  },
  reset: {
    code: 'TSGI_ERR_EDGE_UPSTREAM_RESET',
    status: 502,
    text: 'recv() failed (104: Connection reset by peer)',
    advice: 'the upstream reset the connection; check its log (uWSGI drops requests whose vars exceed --buffer-size)',
  },
  'premature-close': {
    code: 'TSGI_ERR_EDGE_UPSTREAM_PREMATURE_CLOSE',
    status: 502,
    text: 'upstream prematurely closed connection',
    advice: 'the upstream closed the connection early; check its log for an exception',
  },
  'invalid-header': {
    code: 'TSGI_ERR_EDGE_UPSTREAM_INVALID_HEADER',
    status: 502,
    text: 'upstream sent invalid header',
    advice: 'the upstream response does not start with a valid HTTP status line and headers',
  },
  'too-big-header': {
    code: 'TSGI_ERR_EDGE_UPSTREAM_TOO_BIG_HEADER',
    status: 502,
    text: 'upstream sent too big header',
    advice: 'raise buffer_size for this location or send fewer/smaller response headers',
  },
  'no-live-upstreams': {
    code: 'TSGI_ERR_EDGE_NO_LIVE_UPSTREAMS',
    status: 502,
    text: 'no live upstreams',
    advice: 'every server of the upstream group is marked failed (max_fails/fail_timeout)',
  },
  error: {
    code: 'TSGI_ERR_EDGE_UPSTREAM_ERROR',
    status: 502,
    text: 'upstream error',
    advice: 'see the cause',
  },
};

/** An upstream failed; `phase` says when, `failure` says how. */
export class EdgeUpstreamError extends EdgeError {
  readonly failure: UpstreamFailure;
  readonly phase: UpstreamPhase;
  constructor(failure: UpstreamFailure, phase: UpstreamPhase, options: { detail?: string; cause?: unknown } = {}) {
    const f = FAILURES[failure];
    const text = options.detail ? `${f.text}: ${options.detail}` : f.text;
    super(f.code, `${text} ${PHASE_TEXT[phase]} (${f.advice})`, {
      status: f.status,
      logText: `${text} ${PHASE_TEXT[phase]}`,
      cause: options.cause,
    });
    this.failure = failure;
    this.phase = phase;
  }
}

/** A client request the edge refuses: too large body, bad headers, smuggling attempts, timeouts. */
export class EdgeClientError extends EdgeError {
  constructor(code: string, status: number, message: string, logText?: string) {
    super(code, message, { status, logText: logText ?? message });
  }
}
