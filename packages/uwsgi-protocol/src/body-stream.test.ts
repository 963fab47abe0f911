import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { UwsgiRequestParser, type UwsgiRequestHead, createBodyStream, encodePacket } from './index.js';
import { collect, rejectsWithCode } from './test-support/helpers.js';

describe('createBodyStream', () => {
  it('delivers exactly CONTENT_LENGTH bytes (rest first), stops reading there and exposes the excess', async () => {
    const source = new PassThrough();
    const body = createBodyStream(source, { contentLength: 10, rest: Buffer.from('abc') });
    source.write('defg');
    source.write('hijXYZ');
    const data = await collect(body);
    assert.equal(data.toString(), 'abcdefghij');
    assert.equal(body.excess?.toString(), 'XYZ');
    assert.equal(source.listenerCount('data'), 0);
    assert.equal(source.isPaused(), true);
    // later bytes stay in the source
    source.write('later');
    assert.equal(source.read()?.toString(), 'later');
  });

  it('a zero-length body ends at once without touching the source; all rest bytes are excess', async () => {
    const source = new PassThrough();
    const body = createBodyStream(source, { contentLength: 0, rest: Buffer.from('oops') });
    assert.equal((await collect(body)).length, 0);
    assert.equal(body.excess?.toString(), 'oops');
    assert.equal(source.listenerCount('data'), 0);
  });

  it('EOF before the length is TSGI_ERR_UWSGI_EOF_BODY', async () => {
    const source = new PassThrough();
    const body = createBodyStream(source, { contentLength: 100 });
    source.end('short');
    await rejectsWithCode(collect(body), 'TSGI_ERR_UWSGI_EOF_BODY');
  });

  it('a source that already ended is noticed', async () => {
    const source = new PassThrough();
    source.end();
    source.resume();
    await once(source, 'end');
    await rejectsWithCode(collect(createBodyStream(source, { contentLength: 5 })), 'TSGI_ERR_UWSGI_EOF_BODY');
  });

  it('a source error becomes TSGI_ERR_UWSGI_BODY_SOURCE', async () => {
    const source = new PassThrough();
    const body = createBodyStream(source, { contentLength: 100 });
    const done = collect(body);
    source.write('x');
    setImmediate(() => source.destroy(new Error('ECONNRESET')));
    await rejectsWithCode(done, 'TSGI_ERR_UWSGI_BODY_SOURCE');
  });

  it('respects backpressure: the source is paused while nobody reads', async () => {
    const source = new PassThrough({ highWaterMark: 1024 });
    const body = createBodyStream(source, { contentLength: 1 << 20 }, { highWaterMark: 1024 });
    body.once('readable', () => {});
    let writes = 0;
    const chunk = Buffer.alloc(1024, 1);
    while (source.write(chunk) && writes < 2000) writes++;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // the writer is blocked long before 1 MiB: both buffers are bounded by their highWaterMarks
    assert.ok(writes < 64, `source accepted ${writes} KiB without a reader`);
    assert.equal(source.isPaused(), true);
    assert.ok(body.readableLength <= 8 * 1024, `body buffered ${body.readableLength} bytes`);
    const reading = collect(body);
    const feed = async () => {
      for (let sent = (writes + 1) * 1024; sent < 1 << 20; sent += 1024) {
        if (!source.write(chunk)) await once(source, 'drain');
      }
    };
    await feed();
    assert.equal((await reading).length, 1 << 20);
  });

  it('decodes a chunked body, keeps bytes after the last chunk, and enforces limitPost', async () => {
    const source = new PassThrough();
    const body = createBodyStream(source, { contentLength: 0, chunked: true, rest: Buffer.from('5\r\nhel') }, { limitPost: 100 });
    source.write('lo\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT');
    assert.equal((await collect(body)).toString(), 'hello world');
    assert.equal(body.excess?.toString(), 'NEXT');
    const limited = createBodyStream(new PassThrough(), { contentLength: 0, chunked: true, rest: Buffer.from('ff\r\n') }, { limitPost: 100 });
    await rejectsWithCode(collect(limited), 'TSGI_ERR_UWSGI_LIMIT_POST');
    const bad = createBodyStream(new PassThrough(), { contentLength: 0, chunked: true, rest: Buffer.from('zz\r\n') });
    await rejectsWithCode(collect(bad), 'TSGI_ERR_UWSGI_CHUNKED');
  });

  it('works with the parser: head, then body from the same stream', async () => {
    const socket = new PassThrough();
    const parser = new UwsgiRequestParser();
    const packet = Buffer.concat([encodePacket({ vars: { CONTENT_LENGTH: '11' } }), Buffer.from('hello world')]);
    const h = parser.push(packet.subarray(0, packet.length - 6)) as UwsgiRequestHead;
    const body = createBodyStream(socket, h);
    socket.write(packet.subarray(packet.length - 6));
    assert.equal((await collect(body)).toString(), 'hello world');
    assert.equal(body.received, 11);
  });
});
