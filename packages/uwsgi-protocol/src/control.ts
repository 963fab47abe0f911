import net from 'node:net';
import { type UwsgiAddress, checkAddress, formatAddress } from './address.js';
import { MODIFIER1_PING, MODIFIER1_RESPONSE, encodePing, encodeSignal } from './codec.js';
import { UwsgiProtocolError } from './errors.js';
import { socketError } from './client.js';

export interface ControlOptions {
  /** Seconds allowed for each step (connect, write, read); default 4, uWSGI's default socket-timeout for `--signal`. */
  timeout?: number;
}

/**
 * Opens a connection, writes `packet`, and collects the reply until `complete(bytes)` returns a result or the server
 * closes. Each step (connect, write, every read) has `timeout` seconds.
 */
function exchange<T>(
  address: UwsgiAddress,
  packet: Buffer,
  timeoutSeconds: number,
  complete: (bytes: Buffer) => T | undefined,
  onClose: (bytes: Buffer) => UwsgiProtocolError,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const where = formatAddress(address);
    const ms = Math.max(1, Math.round(timeoutSeconds * 1000));
    const socket = 'path' in address ? net.connect({ path: address.path }) : net.connect({ host: address.host ?? '127.0.0.1', port: address.port });
    let phase: 'connect' | 'send' | 'read-header' = 'connect';
    let received: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value as T);
    };
    const timer = setTimeout(() => {
      const code = phase === 'connect' ? 'TSGI_ERR_UWSGI_CONNECT_TIMEOUT' : phase === 'send' ? 'TSGI_ERR_UWSGI_SEND_TIMEOUT' : 'TSGI_ERR_UWSGI_READ_TIMEOUT';
      finish(new UwsgiProtocolError(code, `${where} did not answer within ${timeoutSeconds} s (${phase})`, { logText: `upstream timed out (110: Connection timed out)` }));
    }, ms);
    socket.once('connect', () => {
      phase = 'send';
      timer.refresh();
      socket.write(packet, () => {
        phase = 'read-header';
        timer.refresh();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      timer.refresh();
      let result: T | undefined;
      try {
        result = complete(received);
      } catch (error) {
        finish(error as Error);
        return;
      }
      if (result !== undefined) finish(null, result);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(socketError(error, phase, where)));
    socket.on('close', () => finish(onClose(received)));
  });
}

function checkTimeout(timeout: number | undefined): number {
  const t = timeout ?? 4;
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `timeout must be a positive number of seconds, got ${String(timeout)}`);
  }
  return t;
}

/**
 * Raises uWSGI signal `num` on the node at `address`, as `uwsgi --signal addr,num` does: sends modifier1 110 with
 * modifier2 = num and reads the 4-byte reply. Resolves 'delivered' ({255,0,0,1}) or 'rejected' ({255,0,0,0}: the
 * node's signal queue was full). Fails with TSGI_ERR_UWSGI_SIGNAL_UNDELIVERED when the node closes without replying
 * (a uWSGI without the signal plugin logs `-- unavailable modifier requested: 110 --` and does exactly that).
 */
export async function sendSignal(address: UwsgiAddress, num: number, options: ControlOptions = {}): Promise<'delivered' | 'rejected'> {
  checkAddress(address);
  const packet = encodeSignal(num);
  const timeout = checkTimeout(options.timeout);
  const where = formatAddress(address);
  return exchange<'delivered' | 'rejected'>(
    address,
    packet,
    timeout,
    (bytes) => {
      if (bytes.length < 4) return undefined;
      if (bytes[0] !== MODIFIER1_RESPONSE) {
        throw new UwsgiProtocolError('TSGI_ERR_UWSGI_BAD_REPLY', `${where} answered signal ${num} with modifier1 ${bytes[0]}, not 255: is it a uwsgi socket?`, {
          logText: `unable to deliver signal ${num} to node ${where}`,
        });
      }
      return bytes[3] === 1 ? 'delivered' : 'rejected';
    },
    () =>
      new UwsgiProtocolError('TSGI_ERR_UWSGI_SIGNAL_UNDELIVERED', `${where} closed the connection without answering signal ${num}: is the uWSGI signal plugin loaded (--plugins ...,signal) and is this a uwsgi-protocol socket?`, {
        logText: `unable to deliver signal ${num} to node ${where}`,
      }),
  );
}

export interface PingResult {
  /** The node's warning message ('' when it has none: all is well). */
  warning: string;
}

/**
 * Pings the node at `address`, as `uwsgi --ping` does: modifier1 100. A uWSGI node with the ping plugin answers a
 * 4-byte header {100, len, 1} followed by `len` bytes of warning message (none when healthy).
 */
export async function ping(address: UwsgiAddress, options: ControlOptions = {}): Promise<PingResult> {
  checkAddress(address);
  const timeout = checkTimeout(options.timeout);
  const where = formatAddress(address);
  return exchange<PingResult>(
    address,
    encodePing(),
    timeout,
    (bytes) => {
      if (bytes.length < 4) return undefined;
      if (bytes[0] !== MODIFIER1_PING) {
        throw new UwsgiProtocolError('TSGI_ERR_UWSGI_BAD_REPLY', `${where} answered a ping with modifier1 ${bytes[0]}, not 100`);
      }
      const len = bytes[1] | (bytes[2] << 8);
      if (bytes.length < 4 + len) return undefined;
      return { warning: bytes.toString('latin1', 4, 4 + len) };
    },
    (bytes) =>
      new UwsgiProtocolError('TSGI_ERR_UWSGI_PREMATURE_CLOSE', `${where} closed the connection after ${bytes.length} bytes of a ping reply: is the uWSGI ping plugin loaded?`, {
        logText: 'upstream prematurely closed connection while reading response header from upstream',
      }),
  );
}
