/** Per-core counters, in the shape uWSGI's stats server reports them. */
export interface CoreStats {
  id: number;
  requests: number;
  inRequest: boolean;
  writeErrors: number;
  readErrors: number;
}

/**
 * The worker's N async cores. Free cores form a LIFO stack filled with 0..N-1, so, as in uWSGI, a
 * lone request gets core N-1 and a just-freed core is the next one handed out.
 */
export class AsyncCores {
  readonly size: number;
  readonly cores: CoreStats[];
  #free: number[];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`async cores must be an integer >= 1, got ${size}`);
    this.size = size;
    this.cores = Array.from({ length: size }, (_, id) => ({ id, requests: 0, inRequest: false, writeErrors: 0, readErrors: 0 }));
    this.#free = Array.from({ length: size }, (_, id) => id);
  }

  get freeCount(): number {
    return this.#free.length;
  }

  get busyCount(): number {
    return this.size - this.#free.length;
  }

  /** Takes a free core, or returns -1 when all are busy. */
  acquire(): number {
    const id = this.#free.pop();
    if (id === undefined) return -1;
    this.cores[id].inRequest = true;
    return id;
  }

  release(id: number): void {
    const core = this.cores[id];
    if (!core.inRequest) throw new Error(`async core ${id} released twice`);
    core.inRequest = false;
    core.requests++;
    this.#free.push(id);
  }
}
