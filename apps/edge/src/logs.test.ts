import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { formatAccess, LogSink } from './logs.js';

function recorder() {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  return { stream, writes };
}

test('LogSink: the lines of one event-loop turn go out as one write; close() writes what is pending', async () => {
  const { stream, writes } = recorder();
  const sink = new LogSink(stream, process.stdout);
  sink.write('a\n');
  sink.write('b\n');
  sink.write('c\n');
  assert.deepEqual(writes, []);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, ['a\nb\nc\n']);
  sink.write('d\n');
  await sink.close();
  assert.deepEqual(writes, ['a\nb\nc\n', 'd\n']);
});

test('formatAccess: the time of each second, and escapes only where a field needs them', () => {
  const entry = { remoteAddr: '127.0.0.1', request: 'GET / HTTP/1.1', status: 200, bytes: 5, referer: undefined, userAgent: 'curl "x"', upstreamAddrs: ['127.0.0.1:3031'], upstreamTimes: [0.0123] };
  const a = formatAccess({ ...entry, time: new Date(2026, 10, 24, 16, 16, 57, 100) });
  const b = formatAccess({ ...entry, time: new Date(2026, 10, 24, 16, 16, 58, 900) });
  assert.match(a, /\[24\/Nov\/2026:16:16:57 [+-]\d{4}\] "GET \/ HTTP\/1\.1" 200 5 "-" "curl \\x22x\\x22" 127\.0\.0\.1:3031 0\.012\n$/);
  assert.match(b, /\[24\/Nov\/2026:16:16:58 /);
});
