import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { UwsgiRequestParser, type UwsgiRequestHead, createBodyStream, encodePong, ping, sendSignal, uwsgiRequest } from './index.js';
import { collect, rawServer, rejectsWithCode } from './test-support/helpers.js';
import { rawLinksEnabled } from './upstream-link.js';

/** A uwsgi server in miniature: parses the head and body with this package, then lets `respond` answer. */
async function miniServer(respond: (socket: net.Socket, head: UwsgiRequestHead, body: Buffer) => void) {
  return rawServer((socket) => {
    const parser = new UwsgiRequestParser();
    const onData = (chunk: Buffer) => {
      const r = parser.push(chunk);
      if (r === null) return;
      socket.off('data', onData);
      if (r instanceof Error) {
        socket.destroy();
        return;
      }
      collect(createBodyStream(socket, r)).then(
        (body) => respond(socket, r, body),
        () => socket.destroy(),
      );
    };
    socket.on('data', onData);
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'tsgi-proto-client-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('uwsgiRequest', () => {
  it('sends packet + body, returns status, raw headers and a close-delimited streamed body', async () => {
    const server = await miniServer((socket, head, body) => {
      const env = head.vars.toEnviron();
      socket.write(`HTTP/1.1 201 Created\r\nX-Method: ${env.REQUEST_METHOD}\r\nx-lower: a\r\nSet-Cookie: 1\r\nSet-Cookie: 2\r\n\r\n`);
      socket.write(`got:${body.toString()}`);
      setImmediate(() => socket.end(':end'));
    });
    try {
      const res = await uwsgiRequest({ port: server.port }, { vars: { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' }, body: 'hello' });
      assert.equal(res.status, 201);
      assert.equal(res.statusText, 'Created');
      assert.equal(res.httpVersion, '1.1');
      assert.equal(res.framing, 'close');
      assert.deepEqual(res.headers, [
        ['X-Method', 'POST'],
        ['x-lower', 'a'],
        ['Set-Cookie', '1'],
        ['Set-Cookie', '2'],
      ]);
      assert.equal((await collect(res.body)).toString(), 'got:hello:end');
    } finally {
      await server.close();
    }
  });

  it('streams a Readable / async iterable body with backpressure, over a unix socket', async () => {
    const path = join(tmp, 'mini.sock');
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      const parser = new UwsgiRequestParser();
      socket.once('data', (chunk) => {
        const h = parser.push(chunk) as UwsgiRequestHead;
        collect(createBodyStream(socket, h)).then((body) => socket.end(`HTTP/1.0 200 OK\r\n\r\n${body.length}`));
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const total = 4 * 1024 * 1024;
      async function* chunks() {
        for (let i = 0; i < total / 65536; i++) yield Buffer.alloc(65536, i);
      }
      const res = await uwsgiRequest({ path }, { vars: { CONTENT_LENGTH: String(total) }, body: chunks() });
      assert.equal((await collect(res.body)).toString(), String(total));
      const res2 = await uwsgiRequest({ path }, { vars: [['CONTENT_LENGTH', '3']], body: Readable.from([Buffer.from('abc')]) });
      assert.equal(res2.httpVersion, '1.0');
      assert.equal((await collect(res2.body)).toString(), '3');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('honours Content-Length: ends there, and a premature close is TSGI_ERR_UWSGI_PREMATURE_CLOSE', async () => {
    const server = await miniServer((socket, head) => {
      const short = head.vars.get('PATH_INFO') === '/short';
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123');
      if (short) socket.end();
      else socket.write('456789-trailing-garbage');
    });
    try {
      const full = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/full' } });
      assert.equal(full.framing, 'length');
      assert.equal((await collect(full.body)).toString(), '0123456789');
      const short = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/short' } });
      const e = await rejectsWithCode(collect(short.body), 'TSGI_ERR_UWSGI_PREMATURE_CLOSE');
      assert.equal(e.logText, 'upstream prematurely closed connection while reading upstream');
    } finally {
      await server.close();
    }
  });

  it('de-chunks Transfer-Encoding: chunked and detects a truncated chunked body', async () => {
    const server = await miniServer((socket, head) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      if (head.vars.get('PATH_INFO') === '/cut') socket.end('3\r\nab');
      else socket.write('6\r\n world\r\n0\r\n\r\n');
    });
    try {
      const ok = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/' } });
      assert.equal(ok.framing, 'chunked');
      assert.equal((await collect(ok.body)).toString(), 'hello world');
      const cut = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/cut' } });
      await rejectsWithCode(collect(cut.body), 'TSGI_ERR_UWSGI_PREMATURE_CLOSE');
    } finally {
      await server.close();
    }
  });

  it('HEAD responses are read to the close whatever their Content-Length; CGI-style heads are understood', async () => {
    const server = await miniServer((socket, head) => {
      if (head.vars.get('REQUEST_METHOD') === 'HEAD') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
      else if (head.vars.get('PATH_INFO') === '/redirect') socket.end('Location: /x\r\n\r\n');
      else socket.end('Status: 404 Not Found\nContent-Type: text/plain\n\nnope');
    });
    try {
      const h = await uwsgiRequest({ port: server.port }, { vars: { REQUEST_METHOD: 'HEAD' } });
      assert.equal((await collect(h.body)).length, 0);
      const cgi = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/' } });
      assert.deepEqual([cgi.status, cgi.statusText, cgi.httpVersion], [404, 'Not Found', '']);
      assert.deepEqual(cgi.headers, [['Content-Type', 'text/plain']]);
      assert.equal((await collect(cgi.body)).toString(), 'nope');
      const redirect = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/redirect' } });
      assert.equal(redirect.status, 302);
    } finally {
      await server.close();
    }
  });

  it('invalid heads, too big heads and empty replies fail with nginx\'s texts', async () => {
    const replies: Record<string, string> = {
      '/bad-status': 'HTTP/1.1 2x0 OK\r\n\r\n',
      '/bad-header': 'HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n',
      '/big': `HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(5000)}\r\n\r\n`,
      '/empty': '',
    };
    const server = await miniServer((socket, head) => socket.end(replies[head.vars.get('PATH_INFO')!]));
    try {
      const call = (p: string) => uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: p } });
      assert.equal((await rejectsWithCode(call('/bad-status'), 'TSGI_ERR_UWSGI_INVALID_HEADER')).logText, 'upstream sent invalid header while reading response header from upstream');
      await rejectsWithCode(call('/bad-header'), 'TSGI_ERR_UWSGI_INVALID_HEADER');
      assert.equal((await rejectsWithCode(call('/big'), 'TSGI_ERR_UWSGI_HEADER_TOO_BIG')).logText, 'upstream sent too big header while reading response header from upstream');
      const big = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/big' }, maxHeaderSize: 8192 });
      assert.equal(big.headers[0][1].length, 5000);
      big.body.resume();
      assert.equal((await rejectsWithCode(call('/empty'), 'TSGI_ERR_UWSGI_PREMATURE_CLOSE')).logText, 'upstream prematurely closed connection while reading response header from upstream');
    } finally {
      await server.close();
    }
  });

  it('connection refused, reset and bad arguments have codes', async () => {
    const closed = await rawServer(() => {});
    const port = closed.port;
    await closed.close();
    const refused = await rejectsWithCode(uwsgiRequest({ port }, { vars: {} }), 'TSGI_ERR_UWSGI_CONNECT_REFUSED');
    assert.match(refused.logText!, /^connect\(\) failed \(111: Connection refused\)/);
    await rejectsWithCode(uwsgiRequest({ path: join(tmp, 'missing.sock') }, { vars: {} }), 'TSGI_ERR_UWSGI_CONNECT_FAILED');
    const resetter = await rawServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    try {
      await rejectsWithCode(uwsgiRequest({ port: resetter.port }, { vars: {} }), 'TSGI_ERR_UWSGI_CONNECTION_RESET');
    } finally {
      await resetter.close();
    }
    await rejectsWithCode(uwsgiRequest({ port: 0 }, { vars: {} }), 'TSGI_ERR_UWSGI_INVALID_ARGUMENT');
    await rejectsWithCode(uwsgiRequest({ port: 1 }, { vars: { K: '\u20ac' } }), 'TSGI_ERR_UWSGI_NON_LATIN1');
  });

  it('read timeout is between reads (a slow but steady server is fine), send timeout when the server stops reading', async () => {
    const server = await rawServer((socket) => {
      socket.once('data', (chunk) => {
        if (chunk.includes('/silent')) return;
        if (chunk.includes('/stall')) {
          socket.pause();
          return;
        }
        // 6 writes 100 ms apart: 500 ms in total, more than the 300 ms read timeout, but never 300 ms idle
        let n = 0;
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
        const timer = setInterval(() => {
          socket.write(`${n}`);
          if (++n === 6) {
            clearInterval(timer);
            socket.end();
          }
        }, 100);
        socket.on('close', () => clearInterval(timer));
      });
    });
    try {
      const steady = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/steady' }, readTimeout: 0.3 });
      assert.equal((await collect(steady.body)).toString(), '012345');
      const silent = await rejectsWithCode(uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/silent' }, readTimeout: 0.2 }), 'TSGI_ERR_UWSGI_READ_TIMEOUT');
      assert.equal(silent.logText, 'upstream timed out (110: Connection timed out) while reading response header from upstream');
      // the connect timer, of the same length, goes on as the read timer: the phase it reports must follow
      const same = await rejectsWithCode(uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/silent' }, connectTimeout: 0.2, readTimeout: 0.2 }), 'TSGI_ERR_UWSGI_READ_TIMEOUT');
      assert.equal(same.logText, silent.logText);
      const huge = Buffer.alloc(32 * 1024 * 1024);
      await rejectsWithCode(
        uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/stall', CONTENT_LENGTH: String(huge.length) }, body: huge, sendTimeout: 0.3 }),
        'TSGI_ERR_UWSGI_SEND_TIMEOUT',
      );
    } finally {
      await server.close();
    }
  });

  it('does not read ahead: an unread body leaves the server blocked on a full socket, reading it resumes', async () => {
    let written = 0;
    let blocked: () => void;
    const serverBlocked = new Promise<void>((r) => (blocked = r));
    const total = 64 * 1024 * 1024;
    const server = await rawServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
        const chunk = Buffer.alloc(65536, 120);
        const pump = () => {
          while (written < total) {
            written += chunk.length;
            if (!socket.write(chunk)) {
              blocked();
              socket.once('drain', pump);
              return;
            }
          }
          socket.end();
        };
        pump();
      });
    });
    try {
      const res = await uwsgiRequest({ port: server.port }, { vars: {} });
      await serverBlocked;
      await new Promise((r) => setTimeout(r, 100));
      const stuckAt = written;
      assert.ok(stuckAt < 16 * 1024 * 1024, `server could write ${stuckAt} bytes although nobody read`);
      let received = 0;
      for await (const chunk of res.body) received += (chunk as Buffer).length;
      assert.equal(received, total);
    } finally {
      await server.close();
    }
  });

  it('AbortSignal aborts before the head and during the body', async () => {
    const server = await rawServer((socket) => socket.once('data', () => (socket.write('HTTP/1.1 200 OK\r\n\r\npart'), undefined)));
    try {
      const early = new AbortController();
      const pending = uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/' }, signal: early.signal });
      early.abort();
      await rejectsWithCode(pending, 'TSGI_ERR_UWSGI_ABORTED');
      await rejectsWithCode(uwsgiRequest({ port: server.port }, { vars: {}, signal: AbortSignal.abort() }), 'TSGI_ERR_UWSGI_ABORTED');
      const late = new AbortController();
      const res = await uwsgiRequest({ port: server.port }, { vars: {}, signal: late.signal });
      const reading = collect(res.body);
      late.abort();
      await rejectsWithCode(reading, 'TSGI_ERR_UWSGI_ABORTED');
    } finally {
      await server.close();
    }
  });
});

describe('uwsgiRequest connections', () => {
  it('go over bare libuv handles (no net.Socket), unless TSGI_RAW_UWSGI=0', async () => {
    assert.equal(rawLinksEnabled, process.env.TSGI_RAW_UWSGI !== '0');
    const path = join(tmp, 'kinds.sock');
    const answer = (socket: net.Socket) => socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\n\r\nok'));
    const unix = net.createServer(answer);
    await new Promise<void>((r) => unix.listen(path, r));
    const tcp = await rawServer(answer);
    let sockets = 0;
    const onSocket = () => sockets++;
    diagnostics_channel.subscribe('net.client.socket', onSocket);
    try {
      for (const address of [{ port: tcp.port }, { host: '127.0.0.1', port: tcp.port }, { path }]) {
        const res = await uwsgiRequest(address, { vars: {} });
        assert.equal((await collect(res.body)).toString(), 'ok');
      }
      assert.equal(sockets, rawLinksEnabled ? 0 : 3);
      // a host name needs a lookup, which only net.Socket does
      const named = await uwsgiRequest({ host: 'localhost', port: tcp.port }, { vars: {} }).catch((e: Error) => e);
      if (!(named instanceof Error)) await collect(named.body);
      assert.equal(sockets, rawLinksEnabled ? 1 : 4);
    } finally {
      diagnostics_channel.unsubscribe('net.client.socket', onSocket);
      await tcp.close();
      await new Promise((r) => unix.close(r));
    }
  });

  it('connect errors carry the same codes, messages and log texts as with net.Socket', async () => {
    const closed = await rawServer(() => {});
    const port = closed.port;
    await closed.close();
    const missing = join(tmp, 'nobody.sock');
    const netError = (options: net.NetConnectOpts) =>
      new Promise<NodeJS.ErrnoException>((resolve) => net.connect(options).on('error', resolve).on('connect', () => resolve(new Error('connected'))));
    const refused = await rejectsWithCode(uwsgiRequest({ port }, { vars: {} }), 'TSGI_ERR_UWSGI_CONNECT_REFUSED');
    assert.equal(refused.logText, 'connect() failed (111: Connection refused) while connecting to upstream');
    const refusedCause = refused.cause as NodeJS.ErrnoException;
    const refusedNet = await netError({ host: '127.0.0.1', port });
    assert.deepEqual([refusedCause.message, refusedCause.code, refusedCause.errno, refusedCause.syscall], [refusedNet.message, refusedNet.code, refusedNet.errno, refusedNet.syscall]);
    const noFile = await rejectsWithCode(uwsgiRequest({ path: missing }, { vars: {} }), 'TSGI_ERR_UWSGI_CONNECT_FAILED');
    const noFileNet = await netError({ path: missing });
    assert.equal(noFile.message, `cannot connect to unix:${missing}: ${noFileNet.message}`);
    assert.equal(noFile.logText, `connect() to unix:${missing} failed (ENOENT) while connecting to upstream`);
  });

  it('assembles a head and body that arrive one byte per read, whatever the framing', async () => {
    const replies: Record<string, string> = {
      '/close': 'HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nclose-delimited',
      '/length': 'HTTP/1.1 201 Created\r\nContent-Length: 6\r\n\r\nlengthIGNORED',
      '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    };
    let writes = 0;
    const server = await miniServer((socket, head) => {
      const bytes = Buffer.from(replies[head.vars.get('PATH_INFO')!]);
      socket.setNoDelay(true);
      let i = 0;
      const next = () => {
        if (socket.destroyed) return;
        if (i === bytes.length) {
          socket.end();
          return;
        }
        writes++;
        // each byte is flushed before the next is written, so the client reads them one by one
        socket.write(bytes.subarray(i, ++i), () => setTimeout(next, 1));
      };
      next();
    });
    try {
      const close = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/close' } });
      assert.deepEqual([close.status, close.headers], [200, [['X-A', '1']]]);
      assert.equal((await collect(close.body)).toString(), 'close-delimited');
      const length = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/length' } });
      assert.equal(length.status, 201);
      assert.equal((await collect(length.body)).toString(), 'length');
      const chunked = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/chunked' } });
      assert.equal((await collect(chunked.body)).toString(), 'abcde');
      assert.ok(writes > 100);
    } finally {
      await server.close();
    }
  });

  it('a reset mid-body errors the body; a server that resets while the request is sent fails the send', async () => {
    const server = await rawServer((socket) =>
      socket.once('data', (chunk) => {
        if (chunk.includes('/early')) socket.resetAndDestroy();
        else socket.write('HTTP/1.1 200 OK\r\n\r\npart', () => setTimeout(() => socket.resetAndDestroy(), 20));
      }),
    );
    try {
      const res = await uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/mid' } });
      const chunks: Buffer[] = [];
      res.body.on('data', (c: Buffer) => chunks.push(c));
      const e = await new Promise<Error & { code: string; logText: string }>((resolve) => res.body.on('error', resolve));
      assert.equal(e.code, 'TSGI_ERR_UWSGI_CONNECTION_RESET');
      assert.equal(e.logText, 'recv() failed (104: Connection reset by peer) while reading upstream');
      assert.equal(Buffer.concat(chunks).toString(), 'part');
      const huge = Buffer.alloc(8 * 1024 * 1024);
      const early = await rejectsWithCode(uwsgiRequest({ port: server.port }, { vars: { PATH_INFO: '/early', CONTENT_LENGTH: String(huge.length) }, body: huge }), 'TSGI_ERR_UWSGI_CONNECTION_RESET');
      assert.match(early.logText!, / while sending request to upstream$/);
    } finally {
      await server.close();
    }
  });
});

describe('sendSignal / ping', () => {
  it('reads the 4-byte signal reply: delivered, rejected; a close without reply is undelivered', async () => {
    const seen: number[] = [];
    const server = await rawServer((socket) =>
      socket.once('data', (chunk) => {
        seen.push(...chunk);
        if (chunk[3] === 1) socket.end(Buffer.from([255, 0, 0, 1]));
        else if (chunk[3] === 2) socket.end(Buffer.from([255, 0, 0, 0]));
        else socket.end();
      }),
    );
    try {
      assert.equal(await sendSignal({ port: server.port }, 1), 'delivered');
      assert.equal(await sendSignal({ port: server.port }, 2), 'rejected');
      const e = await rejectsWithCode(sendSignal({ port: server.port }, 3), 'TSGI_ERR_UWSGI_SIGNAL_UNDELIVERED');
      assert.equal(e.logText, `unable to deliver signal 3 to node 127.0.0.1:${server.port}`);
      assert.deepEqual(seen.slice(0, 4), [110, 0, 0, 1]);
      await rejectsWithCode(sendSignal({ port: server.port }, 300), 'TSGI_ERR_UWSGI_INVALID_SIGNAL');
    } finally {
      await server.close();
    }
  });

  it('ping resolves the warning carried by the pong; a silent node times out', async () => {
    let pings = 0;
    const server = await rawServer((socket) =>
      socket.once('data', (chunk) => {
        if (chunk[0] !== 100) return;
        socket.end(encodePong(pings++ === 0 ? '' : 'overloaded'));
      }),
    );
    try {
      assert.deepEqual(await ping({ port: server.port }), { warning: '' });
      assert.deepEqual(await ping({ port: server.port }), { warning: 'overloaded' });
      const silent = await rawServer(() => {});
      try {
        await rejectsWithCode(ping({ port: silent.port }, { timeout: 0.2 }), 'TSGI_ERR_UWSGI_READ_TIMEOUT');
      } finally {
        await silent.close();
      }
    } finally {
      await server.close();
    }
  });
});

