import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodePacket, UwsgiRequestParser } from '@tsgi/uwsgi-protocol';
import { HeadWaitList, isRawStreamHandle, RawConnectionSink, rawStreams, RawUwsgiConnection, type RawHeadResult } from './raw-uwsgi-connection.js';

interface ServerHandle {
  onconnection: ((status: number, client?: object) => void) | null;
  listen(backlog: number): number;
  getsockname(out: { port?: number }): number;
  close(): void;
}

/** A bare listening handle, as the engine's accept gate holds one, handing each accepted handle to `onHandle`. */
function listenRaw(onHandle: (handle: object) => void): { port: number; close(): void } {
  const handle = (net as unknown as { _createServerHandle(address: string, port: number, type: number): ServerHandle })._createServerHandle('127.0.0.1', 0, 4);
  handle.onconnection = (status, client) => {
    if (status === 0 && client) onHandle(client);
  };
  assert.equal(handle.listen(16), 0);
  const out: { port?: number } = {};
  handle.getsockname(out);
  return { port: out.port!, close: () => handle.close() };
}

/** Connects, sends `bytes` (optionally leaving the write side open), and collects the reply until the server closes. */
function exchange(port: number, bytes: Buffer, options: { end?: boolean } = {}): { client: net.Socket; reply: Promise<Buffer> } {
  const client = net.connect(port, '127.0.0.1');
  const parts: Buffer[] = [];
  const reply = new Promise<Buffer>((resolve, reject) => {
    client.on('data', (d: Buffer) => parts.push(d));
    client.on('end', () => resolve(Buffer.concat(parts)));
    client.on('error', reject);
  });
  client.write(bytes);
  if (options.end) client.end();
  return { client, reply };
}

describe('RawUwsgiConnection', { skip: rawStreams === null ? 'no stream binding on this Node' : false }, () => {
  let server: { port: number; close(): void };
  let accepted: (connection: RawUwsgiConnection, head: Promise<RawHeadResult>) => void;

  before(() => {
    server = listenRaw((handle) => {
      assert.ok(isRawStreamHandle(handle));
      let resolveHead: ((head: RawHeadResult) => void) | undefined;
      const head = new Promise<RawHeadResult>((resolve) => (resolveHead = resolve));
      // The resolver is dropped once used: a connection keeps its head callback, and through it the
      // resolver and the promise holding the head.
      const onHead = (_: unknown, result: RawHeadResult) => {
        const resolve = resolveHead!;
        resolveHead = undefined;
        resolve(result);
      };
      const connection = new RawUwsgiConnection<unknown>(handle, new UwsgiRequestParser(), Date.now() + 5000, onHead, undefined);
      assert.ok(connection.start());
      accepted(connection, head);
    });
  });
  after(() => server.close());

  const next = (): Promise<{ connection: RawUwsgiConnection; head: Promise<RawHeadResult> }> => new Promise((resolve) => (accepted = (connection, head) => resolve({ connection, head })));

  it('reads a head split over several writes, answers whole in one write and closes', async () => {
    const arriving = next();
    const packet = encodePacket({ vars: { REQUEST_METHOD: 'GET', PATH_INFO: '/x', SERVER_PROTOCOL: 'HTTP/1.1' } });
    const { client, reply } = exchange(server.port, packet.subarray(0, 5));
    const { connection, head } = await arriving;
    client.write(packet.subarray(5));
    const parsed = await head;
    assert.ok(parsed !== null && !(parsed instanceof Error));
    assert.equal(parsed.vars.get('PATH_INFO'), '/x');
    assert.equal(connection.remoteAddress(), '127.0.0.1');
    const sink = new RawConnectionSink(connection, 'HTTP/1.1', 5);
    sink.sendComplete('200 OK', [['Content-Type', 'text/plain']], Buffer.from('hi'));
    assert.equal((await reply).toString(), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhi');
    assert.deepEqual([sink.headersSent, sink.bodyBytes, sink.headerCount, sink.headerBytes], [true, 2, 1, 45]);
    assert.ok(connection.closed);
    client.destroy();
  });

  it('once the head is taken, a connection still open holds neither the head nor the bytes it was read into', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Every promise that carried the head is dropped with this frame, so only the connection could keep it.
    const accept = async (): Promise<{ connection: RawUwsgiConnection; exchanged: ReturnType<typeof exchange>; refs: { head: WeakRef<object>; bytes: WeakRef<object> } }> => {
      const arriving = next();
      const exchanged = exchange(server.port, encodePacket({ vars: { REQUEST_METHOD: 'GET', PATH_INFO: '/sleeping' } }));
      const { connection, head } = await arriving;
      const parsed = await head;
      // next()'s resolver, which would keep the arrival (and its head) until the next test.
      accepted = () => undefined;
      assert.ok(parsed !== null && !(parsed instanceof Error));
      connection.holdHead(parsed);
      const taken = connection.takeHead();
      assert.equal(taken, parsed);
      assert.throws(() => connection.takeHead(), /no head held/);
      return { connection, exchanged, refs: { head: new WeakRef(taken), bytes: new WeakRef(taken.vars.buffer.buffer) } };
    };
    const { connection, exchanged, refs } = await accept();
    try {
      // WeakRefs hold their target until the current job ends.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      assert.equal(connection.closed, false);
      assert.equal(refs.head.deref(), undefined, 'the head outlived takeHead()');
      assert.equal(refs.bytes.deref(), undefined, 'the read buffer outlived the head (the parser kept it)');
      new RawConnectionSink(connection, 'HTTP/1.1', 5).sendComplete('200 OK', [], Buffer.from('ok'));
      assert.match((await exchanged.reply).toString(), /ok$/);
    } finally {
      connection.close();
      exchanged.client.destroy();
    }
  });

  it('a streamed response moves the connection to a net.Socket and keeps the order of the bytes', async () => {
    const arriving = next();
    const { client, reply } = exchange(server.port, encodePacket({ vars: { REQUEST_METHOD: 'GET' } }));
    const { connection, head } = await arriving;
    await head;
    const sink = new RawConnectionSink(connection, 'HTTP/1.0', 5);
    await sink.sendHeaders('200 OK', [['X-A', '1']], Buffer.from('one,'));
    await sink.write(Buffer.from('two'));
    await sink.end();
    assert.equal((await reply).toString(), 'HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\none,two');
    assert.equal(sink.bodyBytes, 7);
    client.destroy();
  });

  it('bytes after the head stay with it, and the socket it moves to reads the rest of the body', async () => {
    const arriving = next();
    const packet = encodePacket({ vars: { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '10' } });
    const { client } = exchange(server.port, Buffer.concat([packet, Buffer.from('01234')]));
    const { connection, head } = await arriving;
    const parsed = await head;
    assert.ok(parsed !== null && !(parsed instanceof Error));
    const socket = connection.toSocket();
    client.write('56789');
    const more = await new Promise<Buffer>((resolve) => socket.once('data', resolve).resume());
    assert.equal(Buffer.concat([parsed.rest, more]).toString(), '0123456789');
    connection.close();
    client.destroy();
  });

  it('a peer that closes before a byte gives no head (a health check); a partial head is an error; a late one times out', async () => {
    let arriving = next();
    const silent = exchange(server.port, Buffer.alloc(0), { end: true });
    let { connection, head } = await arriving;
    assert.equal(await head, null);
    connection.close();
    await silent.reply;

    arriving = next();
    const partial = exchange(server.port, Buffer.from([0, 200, 0, 0, 1]), { end: true });
    ({ connection, head } = await arriving);
    assert.ok((await head) instanceof Error);
    connection.close();
    await partial.reply;

    arriving = next();
    const slow = exchange(server.port, Buffer.from([0]));
    ({ connection, head } = await arriving);
    connection.timeOut(new Error('read timeout'));
    assert.match(String(await head), /read timeout/);
    connection.close();
    await slow.reply;
  });
});

describe('the stream binding', () => {
  it('TSGI_RAW_UWSGI=0 turns the raw path off (every connection is then a net.Socket)', () => {
    const module = fileURLToPath(new URL('./raw-uwsgi-connection.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then((m) => console.log(m.rawStreams === null))`;
    assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TSGI_RAW_UWSGI: '0' }, encoding: 'utf8' }).trim(), 'true');
    assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TSGI_RAW_UWSGI: '' }, encoding: 'utf8' }).trim(), 'false');
  });
});

describe('HeadWaitList', () => {
  type Waiting = RawUwsgiConnection<string>;
  const waiting = (deadline: number, name: string): Waiting => ({ waitPrev: null, waitNext: null, deadline, context: name }) as unknown as Waiting;

  it('sweeps the connections past their deadline in arrival order, while they delete themselves', () => {
    const list = new HeadWaitList<Waiting>();
    const all = [waiting(10, 'a'), waiting(20, 'b'), waiting(30, 'c'), waiting(40, 'd')];
    for (const c of all) list.add(c);
    list.add(all[1]);
    assert.equal(list.size, 4);
    list.delete(all[2]);
    list.delete(all[2]);
    assert.equal(list.size, 3);
    const expired: string[] = [];
    list.sweep(25, (c) => {
      expired.push(c.context);
      list.delete(c);
    });
    assert.deepEqual(expired, ['a', 'b']);
    assert.equal(list.size, 1);
    list.sweep(100, (c) => expired.push(c.context));
    assert.deepEqual(expired, ['a', 'b', 'd']);
    for (const c of all.slice(0, 3)) {
      assert.equal(c.waitPrev, null);
      assert.equal(c.waitNext, null);
    }
  });

  it('a connection taken out keeps nothing alive: churn through a long-lived list promotes nothing to the old generation', () => {
    // A long-lived Set with the same churn leaves rehashed-away tables in the old generation that
    // keep every entry they held alive through scavenges (promoted until the next full GC).
    const module = new URL('./raw-uwsgi-connection.js', import.meta.url).href;
    const script = `
      const { HeadWaitList } = await import(${JSON.stringify(module)});
      const v8 = await import('node:v8');
      const oldUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
      const churn = (list) => {
        gc(); gc();
        const before = oldUsed();
        const live = [];
        for (let i = 0; i < 20000; i++) {
          const c = { waitPrev: null, waitNext: null, deadline: 0, payload: new Array(256).fill(i) };
          list.add(c);
          live.push(c);
          if (live.length > 4) list.delete(live.shift());
        }
        while (live.length > 0) list.delete(live.shift());
        gc({ type: 'minor' }); gc({ type: 'minor' });
        return oldUsed() - before;
      };
      console.log(JSON.stringify({ list: churn(new HeadWaitList()), set: churn(new Set()) }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })) as { list: number; set: number };
    // 20,000 entries of about 2 KB: 40 MB went through the list.
    assert.ok(out.list < 2 * 2 ** 20, `old generation grew by ${out.list} bytes after churn through the list (a Set: ${out.set})`);
  });
});
