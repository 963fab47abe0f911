import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Location, UpstreamServer } from './config.js';

/** What every transport hands to the response stage, whatever the upstream protocol. */
export interface UpstreamResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: readonly (readonly [string, string])[];
  /** The body; it errors when the upstream closed before the length it announced. */
  readonly body: Readable;
  /**
   * True when the transport itself fails the body after read_timeout without a read (and stops counting while
   * the body is paused for backpressure); the response stage then keeps no read timer of its own.
   */
  readonly timesOwnReads: boolean;
  /** The upstream connection, when the transport exposes it (tests observe its close). */
  readonly socket: Socket | null;
  /** Abandons the response and closes the upstream connection. */
  destroy(): void;
}

/** One try of one request against one server. */
export interface UpstreamAttempt {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly location: Location;
  readonly server: UpstreamServer;
  /** Request headers to send (hop-by-hop already removed). */
  readonly headers: Record<string, string | string[]>;
  /** The request body: a fresh stream per try, or null when there is none. */
  readonly body: Readable | null;
  readonly bodyLength: number | null;
  /** The URI to send upstream (after a proxy_pass path replaced the prefix). */
  readonly uri: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly serverName: string;
  readonly serverPort: number;
  readonly signal: AbortSignal;
}

/** Resolves with the response head, or rejects with an EdgeUpstreamError. */
export type Transport = (attempt: UpstreamAttempt) => Promise<UpstreamResponse>;
