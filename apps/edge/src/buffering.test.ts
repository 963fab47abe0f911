import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, test } from 'node:test';
import { request, startEdge, startFakeUwsgi, writeAll, writeHead, type FakeUwsgi, type TestEdge } from './test-support/fakes.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(handler: Parameters<typeof startFakeUwsgi>[0], location: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ up: FakeUwsgi; edge: TestEdge }> {
  const up = await startFakeUwsgi(handler);
  const edge = await startEdge({ locations: [{ prefix: '/', uwsgi_pass: up.address, ...location }], ...extra });
  cleanups.push(() => edge.close(), () => up.close());
  return { up, edge };
}

/** A gate the test opens: the fake upstream waits on it between chunks. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('buffering off: the first chunk reaches the client while the upstream is still running', async () => {
  const g = gate();
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket);
    socket.write('sleeping for 3 seconds...\n');
    await g.opened;
    socket.end('done\n');
  }, { buffering: 'off' });
  const res = await request(`${edge.url}/stream`, {
    onChunk: (c) => {
      if (c.toString().includes('sleeping')) g.open();
    },
  });
  // Had the edge held the first chunk, the upstream would never have finished and this would time out.
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'sleeping for 3 seconds...\ndone\n');
  assert.equal(res.headers['transfer-encoding'], 'chunked', 'no length from uwsgi: chunked to an HTTP/1.1 client');
  assert.equal(res.chunkTimes.length, 2);
  assert.equal(res.complete, true);
});

test('buffering on: nothing, head included, reaches the client before the upstream finishes', async () => {
  let upstreamDoneAt = 0;
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket);
    socket.write('sleeping for 3 seconds...\n');
    await new Promise((r) => setTimeout(r, 400));
    upstreamDoneAt = performance.now();
    socket.end('done\n');
  }, {});
  const res = await request(`${edge.url}/stream`);
  assert.equal(res.body.toString(), 'sleeping for 3 seconds...\ndone\n');
  assert.ok(upstreamDoneAt > 0);
  assert.ok(res.headAt >= upstreamDoneAt, 'the head came only after the upstream finished');
  assert.equal(res.chunkTimes.length, 1, 'the whole body in one piece, as nginx (one 272-byte write)');
  assert.equal(res.headers['transfer-encoding'], 'chunked');
});

test('buffering on: a response larger than one buffer goes out in whole buffers while the upstream runs', async () => {
  const g = gate();
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket);
    socket.write(Buffer.alloc(4096, 'a'));
    await g.opened;
    socket.end('tail');
  }, { buffers: '8 4k' });
  const res = await request(`${edge.url}/`, { onChunk: () => g.open() });
  assert.equal(res.body.length, 4100);
});

test('X-Accel-Buffering: no turns buffering off for one response and is not passed on', async () => {
  const g = gate();
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket, '200 OK', [['Content-Type', 'text/plain'], ['X-Accel-Buffering', 'no']]);
    socket.write('first\n');
    await g.opened;
    socket.end('second\n');
  }, { buffering: 'on' });
  const res = await request(`${edge.url}/`, { onChunk: () => g.open() });
  assert.equal(res.body.toString(), 'first\nsecond\n');
  assert.equal(res.headers['x-accel-buffering'], undefined);
});

test('X-Accel-Buffering: yes turns buffering on in a buffering-off location', async () => {
  let upstreamDoneAt = 0;
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket, '200 OK', [['X-Accel-Buffering', 'yes']]);
    socket.write('first\n');
    await new Promise((r) => setTimeout(r, 300));
    upstreamDoneAt = performance.now();
    socket.end('second\n');
  }, { buffering: 'off' });
  const res = await request(`${edge.url}/`);
  assert.ok(res.headAt >= upstreamDoneAt);
  assert.equal(res.headers['x-accel-buffering'], undefined);
});

test('ignore_headers X-Accel-Buffering: the header has no effect (and is still hidden)', async () => {
  let upstreamDoneAt = 0;
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket, '200 OK', [['X-Accel-Buffering', 'no']]);
    socket.write('first\n');
    await new Promise((r) => setTimeout(r, 300));
    upstreamDoneAt = performance.now();
    socket.end('second\n');
  }, { buffering: 'on', ignore_headers: ['X-Accel-Buffering'] });
  const res = await request(`${edge.url}/`);
  assert.ok(res.headAt >= upstreamDoneAt, 'still buffered');
  assert.equal(res.headers['x-accel-buffering'], undefined);
});

const BIG = Buffer.alloc(8 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 4) BIG.writeUInt32LE(i, i);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');

/** A client that reads one chunk, then stops reading until told to go on. */
function pausedClient(url: string) {
  let received = 0;
  let res: http.IncomingMessage | undefined;
  let gotFirst!: () => void;
  const firstChunk = new Promise<void>((r) => (gotFirst = r));
  const hash = createHash('sha256');
  const done = new Promise<{ sha: string; bytes: number; complete: boolean }>((resolveDone) => {
    const req = http.get(url, { agent: false }, (r) => {
      res = r;
      r.on('data', (c: Buffer) => {
        hash.update(c);
        received += c.length;
        if (received === c.length) {
          r.pause();
          gotFirst();
        }
      });
      r.on('end', () => resolveDone({ sha: hash.digest('hex'), bytes: received, complete: r.complete }));
    });
    req.on('error', () => resolveDone({ sha: '', bytes: received, complete: false }));
  });
  return {
    firstChunk,
    get received() {
      return received;
    },
    resume: () => res!.resume(),
    done: () => done,
  };
}

test('buffering on + slow client: the upstream connection is released while the client is still reading (temp file used)', async () => {
  const spills: unknown[] = [];
  const onSpill = (m: unknown) => spills.push(m);
  diagnosticsChannel.subscribe('tsgi:edge:buffer:temp-file', onSpill);
  try {
    const { up, edge } = await setup(async ({ socket }) => {
      writeHead(socket, '200 OK', [['Content-Type', 'application/octet-stream']]);
      await writeAll(socket, BIG);
      socket.end();
    }, { buffering: 'on' });
    const client = pausedClient(`${edge.url}/big`);
    await client.firstChunk;
    const done = client.done();
    // The client reads nothing more; the upstream connection must close anyway (the edge holds the rest).
    await new Promise((r) => up.sockets[0].once('close', r));
    assert.ok(client.received < BIG.length, `client had read ${client.received} of ${BIG.length} when the upstream was released`);
    assert.equal(spills.length, 1, 'the response went past the memory buffers into a temp file');
    client.resume();
    const r = await done;
    assert.equal(r.bytes, BIG.length);
    assert.equal(r.sha, BIG_SHA);
    assert.equal(r.complete, true);
  } finally {
    diagnosticsChannel.unsubscribe('tsgi:edge:buffer:temp-file', onSpill);
  }
});

test('buffering off + slow client: the upstream connection stays open until the client has read everything', async () => {
  let upstreamBlocked!: () => void;
  const blocked = new Promise<void>((r) => (upstreamBlocked = r));
  const { up, edge } = await setup(async ({ socket }) => {
    writeHead(socket, '200 OK', [['Content-Type', 'application/octet-stream']]);
    for (let i = 0; i < BIG.length; i += 65536) {
      if (!socket.write(BIG.subarray(i, i + 65536))) {
        upstreamBlocked();
        await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
        if (socket.destroyed) return;
      }
    }
    socket.end();
  }, { buffering: 'off' });
  const client = pausedClient(`${edge.url}/big`);
  await client.firstChunk;
  const done = client.done();
  let upstreamClosed = false;
  await blocked;
  up.sockets[0].once('close', () => (upstreamClosed = true));
  // Backpressure reached the upstream: it cannot finish while the client does not read.
  assert.equal(upstreamClosed, false);
  client.resume();
  const r = await done;
  assert.equal(r.sha, BIG_SHA);
  if (!upstreamClosed) await new Promise((r) => up.sockets[0].once('close', r));
});

test('max_temp_file_size 0: memory only, reading pauses until the client reads', async () => {
  let upstreamBlocked!: () => void;
  const blocked = new Promise<void>((r) => (upstreamBlocked = r));
  const { up, edge } = await setup(async ({ socket }) => {
    writeHead(socket);
    for (let i = 0; i < BIG.length; i += 65536) {
      if (!socket.write(BIG.subarray(i, i + 65536))) {
        upstreamBlocked();
        await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
        if (socket.destroyed) return;
      }
    }
    socket.end();
  }, { buffering: 'on', max_temp_file_size: 0 });
  const client = pausedClient(`${edge.url}/big`);
  await client.firstChunk;
  const done = client.done();
  await blocked;
  assert.equal(up.sockets[0].destroyed, false);
  client.resume();
  assert.equal((await done).sha, BIG_SHA);
});

test('a client that leaves before the response head: the upstream connection is closed, and the access log says 499', async () => {
  let arrived!: (socket: net.Socket) => void;
  const upstreamSocket = new Promise<net.Socket>((r) => (arrived = r));
  const { edge } = await setup(({ socket }) => arrived(socket), {});
  const client = net.connect(edge.port, '127.0.0.1');
  client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  const socket = await upstreamSocket;
  const closed = once(socket, 'close');
  client.destroy();
  await closed;
  assert.match(await edge.waitForAccess('GET /slow '), /" 499 0 /);
});

test('buffering on, a body announced no larger than one buffer: it goes out whole, head included, once the upstream sent all of it', async () => {
  let upstreamDoneAt = 0;
  const { edge } = await setup(async ({ socket }) => {
    writeHead(socket, '200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '10']]);
    socket.write('hello');
    await new Promise((r) => setTimeout(r, 200));
    upstreamDoneAt = performance.now();
    // Framed by its length: the edge must not wait for the close.
    socket.write('world');
  }, {});
  const res = await request(`${edge.url}/small`);
  assert.equal(res.body.toString(), 'helloworld');
  assert.equal(res.headers['content-length'], '10');
  assert.ok(res.headAt >= upstreamDoneAt, 'the head came only after the upstream finished');
  assert.equal(res.chunkTimes.length, 1);
  assert.equal(res.complete, true);
});
