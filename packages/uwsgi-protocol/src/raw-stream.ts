/*
 * Node's libuv stream handles used bare, without a net.Socket: what the server's raw uwsgi
 * connections and the client's raw upstream links share.
 *
 * The handle API is Node's own stream_wrap binding, reached through process.binding(): legacy but
 * present from Node 20 to 24. If it is missing or changed shape, `rawStreams` is null and callers use
 * net.Socket. TSGI_RAW_UWSGI=0 forces that, too.
 */

export interface RawWriteReq {
  handle: RawStreamHandle;
  oncomplete: ((this: RawWriteReq, status: number) => void) | null;
  async: boolean;
  bytes: number;
  buffer: Uint8Array | null;
}

export interface RawStreamHandle {
  /** An internal field: Node aborts the process if it is set to anything but a function. */
  onread: (this: RawStreamHandle, buffer?: ArrayBuffer) => void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: RawWriteReq, data: Uint8Array): number;
  close(callback?: () => void): void;
}

export interface StreamBinding {
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  WriteWrap: new () => RawWriteReq;
}

/** libuv's end of stream, as a read reports it. */
export const UV_EOF = -4095;

function loadStreamBinding(): StreamBinding | null {
  if (process.env.TSGI_RAW_UWSGI === '0') return null;
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamBinding> }).binding('stream_wrap');
    const { streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync, WriteWrap } = binding;
    if (!(streamBaseState instanceof Int32Array) || typeof WriteWrap !== 'function') return null;
    if (typeof kReadBytesOrError !== 'number' || typeof kArrayBufferOffset !== 'number' || typeof kLastWriteWasAsync !== 'number') return null;
    return { streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync, WriteWrap };
  } catch {
    return null;
  }
}

/** The stream binding, or null when connections must go through net.Socket. */
export const rawStreams: StreamBinding | null = loadStreamBinding();

/** In a handle's onread: the bytes read, or libuv's status when there are none (UV_EOF, an error, or 0). */
export function readResult(buffer: ArrayBuffer | undefined): Buffer | number {
  const b = rawStreams!;
  const state = b.streamBaseState;
  const nread = state[b.kReadBytesOrError];
  return nread > 0 ? Buffer.from(buffer!, state[b.kArrayBufferOffset], nread) : nread;
}

/**
 * Writes `data` with one write request: libuv's error code, or 0. When libuv could not finish the
 * write at once (lastWriteWasAsync()), `oncomplete` runs when it does; the request keeps `data`
 * alive until then.
 */
export function writeRaw(handle: RawStreamHandle, data: Uint8Array, oncomplete: (this: RawWriteReq, status: number) => void): number {
  const req = new rawStreams!.WriteWrap();
  req.handle = handle;
  req.oncomplete = oncomplete;
  req.async = false;
  req.bytes = 0;
  req.buffer = data;
  return handle.writeBuffer(req, data);
}

/** Whether the last writeRaw() left its write to libuv to finish later. */
export function lastWriteWasAsync(): boolean {
  const b = rawStreams!;
  return b.streamBaseState[b.kLastWriteWasAsync] !== 0;
}
