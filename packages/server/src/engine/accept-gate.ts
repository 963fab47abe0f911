/** The parts of a libuv server handle (TCP or Pipe wrap) the gate drives. */
interface ListenableHandle {
  onconnection: ((status: number, client?: object) => void) | null;
  listen(backlog: number): number;
  close(cb?: () => void): void;
  setNoDelay?(enable: boolean): number;
}

export interface AcceptGateOptions {
  /** Index of the socket in the instance's socket list (for requests to the master). */
  readonly index: number;
  readonly backlog: number;
  /** Called with each accepted connection's libuv handle (the engine wraps it, or serves it raw). */
  readonly onConnection: (handle: object) => void;
  /** Asks the master for another duplicate of this socket's handle; it arrives through `supply`. */
  readonly requestHandle: (index: number) => void;
  readonly onError?: (error: Error) => void;
  /** Called once, when the socket is first listened on (connects are refused until then: the master only binds). */
  readonly onListening?: () => void;
}

/**
 * Accepts from one shared listening socket only while the engine says so, the way uWSGI's gevent
 * loop stops its socket watcher when the last async core is taken.
 *
 * libuv offers no way to stop polling a listening socket short of closing it, and it accepts in a
 * loop until EAGAIN. So the gate listens on a *duplicate* of the socket (sent by the master) and
 * closes that duplicate to stop: closing inside the connection callback also ends libuv's accept
 * loop at once, so not one connection more is taken. The socket itself stays open in the master and
 * in the other workers, and waiting connections stay in the kernel backlog. To reopen, the gate
 * listens on a spare duplicate it already holds and asks for the next spare, so reopening costs no
 * round trip to the master.
 */
export class AcceptGate {
  readonly index: number;
  #options: AcceptGateOptions;
  #active: ListenableHandle | null = null;
  #spares: ListenableHandle[] = [];
  #wantOpen = false;
  #requested = 0;
  #closedForGood = false;
  #listened = false;

  constructor(options: AcceptGateOptions) {
    this.index = options.index;
    this.#options = options;
  }

  get isOpen(): boolean {
    return this.#active !== null;
  }

  /** True once this gate has listened on the socket: it then stays listening, open gate or not. */
  get listened(): boolean {
    return this.#listened;
  }

  get spareCount(): number {
    return this.#spares.length;
  }

  /** A duplicate of the listening socket arrived from the master. */
  supply(handle: object): void {
    if (this.#requested > 0) this.#requested--;
    if (this.#closedForGood) {
      (handle as ListenableHandle).close();
      return;
    }
    this.#spares.push(handle as ListenableHandle);
    if (this.#wantOpen && this.#active === null) this.open();
  }

  /** Starts accepting (at once if a spare duplicate is at hand, else as soon as one arrives). */
  open(): void {
    if (this.#closedForGood) return;
    this.#wantOpen = true;
    if (this.#active !== null) return;
    const handle = this.#spares.shift();
    if (handle === undefined) {
      this.#ensureSpare();
      return;
    }
    handle.onconnection = (status, client) => this.#onConnection(status, client);
    const err = handle.listen(this.#options.backlog);
    if (err !== 0) {
      handle.close();
      this.#options.onError?.(new Error(`listen() on socket ${this.index} failed: errno ${err}`));
      this.#ensureSpare();
      return;
    }
    this.#active = handle;
    this.#ensureSpare();
    if (!this.#listened) {
      this.#listened = true;
      this.#options.onListening?.();
    }
  }

  /** Stops accepting now; connections keep waiting in the kernel backlog. */
  close(): void {
    this.#wantOpen = false;
    const active = this.#active;
    if (active === null) return;
    this.#active = null;
    active.onconnection = null;
    active.close();
  }

  /** Stops accepting for good and releases every duplicate (worker shutdown). */
  shutdown(): void {
    this.close();
    this.#closedForGood = true;
    for (const spare of this.#spares.splice(0)) spare.close();
  }

  #ensureSpare(): void {
    if (this.#closedForGood) return;
    if (this.#spares.length + this.#requested >= 1) return;
    this.#requested++;
    this.#options.requestHandle(this.index);
  }

  #onConnection(status: number, client?: object): void {
    if (status !== 0 || client === undefined) {
      // EMFILE and friends: libuv already applied its emfile trick; the engine logs and goes on.
      this.#options.onError?.(new Error(`accept() on socket ${this.index} failed: errno ${status}`));
      return;
    }
    this.#options.onConnection(client);
  }
}
