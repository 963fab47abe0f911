import { TsgiError } from '../errors.js';

/** The stats, --stats-http or --stats-prometheus address is malformed or cannot be bound. */
export class StatsBindError extends TsgiError {
  readonly address: string;
  constructor(address: string, reason: string, options?: { cause?: unknown }) {
    super('TSGI_ERR_STATS_BIND', `unable to bind the stats server on "${address}": ${reason}; choose another --stats address (host:port, :port for loopback, or a unix socket path)`, options);
    this.address = address;
  }
}

/** collect() failed or took too long: the client got an error document (raw) or a 500 (HTTP). */
export class StatsCollectError extends TsgiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSGI_ERR_STATS_COLLECT', message, options);
  }
}
