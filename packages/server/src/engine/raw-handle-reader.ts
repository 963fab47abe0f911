import { readResult, type RawStreamHandle } from '@tsgi/uwsgi-protocol/internal';

/** What a raw connection (uwsgi or HTTP) does with what its handle reads. */
export interface RawReader {
  received(chunk: Buffer): void;
  /** The peer closed, or the read failed. */
  ended(): void;
}

/** The raw connection a handle belongs to, kept on the handle so that one read callback serves every connection. */
export const RAW_CONNECTION = Symbol('tsgi.rawConnection');

/** The `onread` of a handle served raw: bytes go to its connection's received(), the end of the stream or an error to ended(). */
export function onRawRead(this: RawStreamHandle, buffer?: ArrayBuffer): void {
  const connection = (this as { [RAW_CONNECTION]?: RawReader })[RAW_CONNECTION];
  if (connection === undefined) return;
  const read = readResult(buffer);
  if (typeof read !== 'number') connection.received(read);
  else if (read < 0) connection.ended();
}
