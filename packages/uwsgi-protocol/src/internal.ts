/**
 * `@tsgi/uwsgi-protocol/internal`: for @tsgi/server only. Unstable: it changes with it.
 */
export { lastWriteWasAsync, rawStreams, readResult, writeRaw, UV_EOF, type RawStreamHandle, type RawWriteReq, type StreamBinding } from './raw-stream.js';
