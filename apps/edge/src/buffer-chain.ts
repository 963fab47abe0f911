import { EventEmitter } from 'node:events';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EdgeError } from './errors.js';

type Segment =
  | { readonly kind: 'memory'; readonly data: Buffer }
  | { readonly kind: 'file'; readonly offset: number; readonly length: number; readonly written: Promise<void> };

export interface BufferChainOptions {
  /** Bytes kept in memory (nginx: buffers count × size). */
  readonly memoryLimit: number;
  /** Bytes that may go to the temp file once memory is full; 0 disables the file. */
  readonly maxFileSize: number;
  /** Directory for the temp file; default the OS temp directory. */
  readonly tempDir?: string | null;
  /** Keep every segment after it was read so `replay()` can read them again (request bodies, for retries). */
  readonly keep?: boolean;
}

/**
 * A FIFO of bytes held in memory up to a limit and then in an (already unlinked) temp file, as nginx's
 * buffer chain. The producer calls `push()` at its own speed and pauses while `full`; the consumer
 * `shift()`s at its own speed. Events: `data` (bytes or end became available), `space` (no longer full).
 */
export class BufferChain extends EventEmitter {
  readonly #opts: BufferChainOptions;
  readonly #queue: Segment[] = [];
  readonly #kept: Segment[] = [];
  #memory = 0;
  #fileWritten = 0;
  #pending = 0;
  #ended = false;
  #file: Promise<FileHandle> | null = null;
  #writes: Promise<void> = Promise.resolve();
  #destroyed = false;

  constructor(opts: BufferChainOptions) {
    super();
    this.#opts = opts;
  }

  /** Bytes pushed and not yet shifted. */
  get pending(): number {
    return this.#pending;
  }
  get ended(): boolean {
    return this.#ended;
  }
  /** Bytes written to the temp file so far. */
  get fileBytes(): number {
    return this.#fileWritten;
  }
  /** True when memory and the temp file are both at their limits: the producer must pause. */
  get full(): boolean {
    return this.#memory >= this.#opts.memoryLimit && this.#fileWritten >= this.#opts.maxFileSize;
  }

  /** Appends bytes; returns false when the chain is now full (wait for `space`). */
  push(chunk: Buffer): boolean {
    if (this.#ended || this.#destroyed) throw new EdgeError('TSGI_ERR_EDGE_INTERNAL', 'push() after end() or destroy()');
    if (chunk.length === 0) return !this.full;
    let seg: Segment;
    if (this.#memory < this.#opts.memoryLimit || this.#fileWritten >= this.#opts.maxFileSize) {
      // Once the file is at its limit, memory takes the overflow of at most one read (the producer pauses now).
      seg = { kind: 'memory', data: chunk };
      this.#memory += chunk.length;
    } else {
      seg = this.#toFile(chunk);
    }
    this.#queue.push(seg);
    if (this.#opts.keep) this.#kept.push(seg);
    this.#pending += chunk.length;
    this.emit('data');
    return !this.full;
  }

  #toFile(chunk: Buffer): Segment {
    const offset = this.#fileWritten;
    this.#fileWritten += chunk.length;
    if (!this.#file) {
      const path = join(this.#opts.tempDir ?? tmpdir(), `tsgi-edge-${process.pid}-${randomBytes(6).toString('hex')}`);
      this.#file = open(path, 'w+', 0o600).then(async (fh) => {
        // Unlinked at once, as nginx does: the data lives only as long as the descriptor.
        await unlink(path);
        return fh;
      });
    }
    const file = this.#file;
    const written = (this.#writes = this.#writes.then(async () => {
      const fh = await file;
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, offset + done);
        done += bytesWritten;
      }
    }));
    // The consumer sees a failed write through shift(); this only keeps it from being reported as unhandled.
    written.catch(() => {});
    return { kind: 'file', offset, length: chunk.length, written };
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit('data');
  }

  /** The next bytes in order, or null once ended and drained. Resolves only when bytes are available. */
  async shift(): Promise<Buffer | null> {
    for (;;) {
      if (this.#destroyed) return null;
      const seg = this.#queue.shift();
      if (seg) return this.#took(seg, await this.#read(seg));
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.once('data', resolve));
    }
  }

  /**
   * The next bytes when they are in memory, at once; undefined when nothing is pending or the next bytes are in
   * the temp file (then `shift()` reads them).
   */
  shiftMemory(): Buffer | undefined {
    const seg = this.#queue[0];
    if (seg === undefined || seg.kind !== 'memory' || this.#destroyed) return undefined;
    this.#queue.shift();
    return this.#took(seg, seg.data);
  }

  #took(seg: Segment, data: Buffer): Buffer {
    const wasFull = this.full;
    this.#pending -= data.length;
    if (seg.kind === 'memory' && !this.#opts.keep) this.#memory -= data.length;
    if (wasFull && !this.full) this.emit('space');
    return data;
  }

  async #read(seg: Segment): Promise<Buffer> {
    if (seg.kind === 'memory') return seg.data;
    await seg.written;
    const fh = await this.#file!;
    const buf = Buffer.allocUnsafe(seg.length);
    let done = 0;
    while (done < seg.length) {
      const { bytesRead } = await fh.read(buf, done, seg.length - done, seg.offset + done);
      if (bytesRead === 0) throw new EdgeError('TSGI_ERR_EDGE_TEMP_FILE', 'temp file shorter than written; is temp_path on a full disk?');
      done += bytesRead;
    }
    return buf;
  }

  /** Every byte pushed so far, from the start (needs `keep: true`), for resending a body to another upstream. */
  async *replay(): AsyncGenerator<Buffer> {
    for (const seg of this.#kept) yield await this.#read(seg);
  }

  /** Total bytes pushed when `keep` is set. */
  get size(): number {
    let n = 0;
    for (const seg of this.#kept) n += seg.kind === 'memory' ? seg.data.length : seg.length;
    return n;
  }

  /** Drops all data and closes the temp file. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#queue.length = 0;
    this.#kept.length = 0;
    this.emit('data');
    const file = this.#file;
    if (file) {
      this.#writes
        .catch(() => {})
        .then(() => file)
        .then((fh) => fh.close())
        .catch(() => {});
    }
  }
}
