import { execFileSync } from 'node:child_process';
import { constants, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { TsgiError } from './errors.js';

/**
 * uWSGI's master FIFO: a named pipe the master reads one-letter commands from
 * (`echo r > /tmp/fifo`). Opened read-write and non-blocking, so it never sees EOF when a writer
 * goes away and never blocks a libuv threadpool thread.
 */
export class MasterFifo {
  readonly path: string;
  #socket: net.Socket;

  constructor(path: string, onCommand: (command: string) => void) {
    this.path = path;
    if (existsSync(path) && !statSync(path).isFIFO()) {
      throw new TsgiError('TSGI_ERR_MASTER_FIFO', `--master-fifo ${path} exists and is not a FIFO`);
    }
    if (!existsSync(path)) {
      try {
        execFileSync('mkfifo', ['-m', '0600', path]);
      } catch (cause) {
        throw new TsgiError('TSGI_ERR_MASTER_FIFO', `unable to create the master FIFO ${path} (mkfifo failed)`, { cause });
      }
    }
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    this.#socket = new net.Socket({ fd, readable: true, writable: false });
    this.#socket.on('data', (data: Buffer) => {
      for (const ch of data.toString('latin1')) {
        if (ch !== '\n' && ch !== '\r' && ch !== ' ') onCommand(ch);
      }
    });
    this.#socket.on('error', () => undefined);
  }

  close(remove: boolean): void {
    this.#socket.destroy();
    if (remove) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}
