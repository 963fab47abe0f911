import { MODIFIER1_PING, MODIFIER1_SIGNAL, MODIFIER1_WSGI, MODIFIER1_WSGI_STRIP_SCRIPT_NAME } from './codec.js';
import type { Environ } from './vars.js';

export type UwsgiRequestKind =
  /** modifier1 0: an application request. */
  | { kind: 'app'; stripScriptName: false }
  /** modifier1 30: an application request whose PATH_INFO must lose its SCRIPT_NAME prefix (see stripScriptName). */
  | { kind: 'app'; stripScriptName: true }
  /** modifier1 100: answer with encodePong(). */
  | { kind: 'ping' }
  /** modifier1 110: raise signal `signal` (modifier2), answer SIGNAL_DELIVERED or SIGNAL_REJECTED. */
  | { kind: 'signal'; signal: number }
  /** Anything else: log `logText` and close the connection without a reply, as uWSGI does. */
  | { kind: 'unknown'; modifier1: number; logText: string };

const APP: UwsgiRequestKind = { kind: 'app', stripScriptName: false };
const APP_STRIP: UwsgiRequestKind = { kind: 'app', stripScriptName: true };
const PING: UwsgiRequestKind = { kind: 'ping' };

/** What a server should do with a request, from its header (modifier1, modifier2). */
export function classifyRequest(head: { modifier1: number; modifier2: number }): UwsgiRequestKind {
  switch (head.modifier1) {
    case MODIFIER1_WSGI:
      return APP;
    case MODIFIER1_WSGI_STRIP_SCRIPT_NAME:
      return APP_STRIP;
    case MODIFIER1_PING:
      return PING;
    case MODIFIER1_SIGNAL:
      return { kind: 'signal', signal: head.modifier2 };
    default:
      return { kind: 'unknown', modifier1: head.modifier1, logText: `-- unavailable modifier requested: ${head.modifier1} --` };
  }
}

/**
 * modifier1 30: removes SCRIPT_NAME's length from the front of PATH_INFO, in place, and returns the same environ.
 * Like uWSGI (wsgi_subhandler.c) it cuts by length without checking that PATH_INFO starts with SCRIPT_NAME; a
 * PATH_INFO shorter than SCRIPT_NAME becomes ''. Without SCRIPT_NAME or PATH_INFO nothing changes.
 */
export function stripScriptName(environ: Environ): Environ {
  const scriptName = environ.SCRIPT_NAME;
  const pathInfo = environ.PATH_INFO;
  if (typeof scriptName === 'string' && typeof pathInfo === 'string') environ.PATH_INFO = pathInfo.slice(scriptName.length);
  return environ;
}

/** What uWSGI's python plugin logs for a modifier1 0 request with no vars (datasize 0). */
export const EMPTY_REQUEST_LOG_TEXT = 'Empty python request. skip.';
