import assert from 'node:assert/strict';
import dns from 'node:dns';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { Event, GreenletExit, Timeout, getHub, sleep, spawn, withTimeout } from '@tsgi/hub';
import { isPatched, patchNet, socketOwner, unpatchNet } from './index.js';

getHub().exceptionStream = null;

/** A TCP server that accepts and never answers; closes every connection on close(). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('patchNet', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  before(async () => {
    silent = await silentServer();
  });
  after(() => silent.close());
  afterEach(() => unpatchNet());

  /** A greenlet blocked on a socket read (not a hub wait); returns it and its socket once connected. */
  async function blockedOnRead(): Promise<{ g: ReturnType<typeof spawn>; socket: net.Socket }> {
    const connected = new Event();
    let socket!: net.Socket;
    const g = spawn(async () => {
      socket = net.connect(silent.port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      connected.set();
      await once(socket, 'data');
    });
    await connected.wait();
    return { g, socket };
  }

  it('kill destroys the greenlet\'s socket with its exception, so it dies promptly', async () => {
    patchNet();
    const { g, socket } = await blockedOnRead();
    assert.equal(socketOwner(socket), g);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    void g.kill({ block: false });
    await g.join(5);
    assert.equal(g.dead, true);
    assert.ok(g.value instanceof GreenletExit);
    await closed;
    assert.ok(socket.destroyed);
    assert.ok((socket as unknown as { errored: unknown }).errored instanceof GreenletExit);
  });

  it('unpatched, a greenlet blocked on a socket outlives the kill (the control)', async () => {
    const { g, socket } = await blockedOnRead();
    void g.kill({ block: false });
    await g.join(0.2);
    assert.equal(g.dead, false);
    assert.equal(socket.destroyed, false);
    socket.destroy(new Error('control over'));
    await g.join(5);
    assert.equal(g.dead, true);
  });

  it('a Timeout destroys the socket a greenlet is blocked on (http.request), and surfaces once', async () => {
    patchNet();
    const g = spawn(async () => {
      const err = await withTimeout(0.1, async () => {
        const req = http.get({ host: '127.0.0.1', port: silent.port, agent: false });
        await once(req, 'response');
      }).catch((e: unknown) => e);
      // Delivered through the socket, the Timeout must not be thrown again at the next hub wait.
      await sleep(0);
      return err;
    });
    const err = await g.get({ timeout: 5 });
    assert.ok(err instanceof Timeout, String(err));
  });

  it('a pooled keep-alive socket belongs to the greenlet that checked it out', async () => {
    patchNet();
    const release = new Event();
    const server = http.createServer((req, res) => {
      if (req.url === '/slow') void release.wait().then(() => res.end('slow'));
      else res.end('fast');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string): Promise<{ body: string; socket: net.Socket; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ body, socket: req.socket!, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    try {
      const aDone = new Event();
      const a = spawn(async () => {
        const r = await get('/fast');
        aDone.set();
        await new Event().wait();
        return r;
      });
      await aDone.wait();
      const bStarted = new Event();
      let bSocket: net.Socket | null = null;
      const b = spawn(async () => {
        const p = get('/slow');
        bStarted.set();
        const r = await p;
        bSocket = r.socket;
        return r;
      });
      await bStarted.wait();
      // Killing the greenlet that created the socket must not break the request now using it.
      await a.kill();
      release.set();
      const rb = await b.get({ timeout: 5 });
      assert.equal(rb.body, 'slow');
      assert.equal(rb.reused, true);
      assert.equal(bSocket!.destroyed, false);
      // Back in the pool, the socket is nobody's.
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(socketOwner(bSocket!), null);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('dns.lookup (callback, promises, and net.connect) goes through the hub resolver', async () => {
    patchNet();
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => dns.lookup('no-such-host.invalid', (e) => resolve(e)));
    assert.equal(err?.code, 'ENOTFOUND');
    assert.equal((err?.cause as { code?: string }).code, 'TSGI_ERR_HUB_RESOLVE');
    const viaPromises = await dns.promises.lookup('no-such-host.invalid').catch((e: { cause?: { code?: string } }) => e.cause?.code);
    assert.equal(viaPromises, 'TSGI_ERR_HUB_RESOLVE');
    const sock = net.connect(80, 'no-such-host.invalid');
    const [connErr] = (await once(sock, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    assert.equal((connErr.cause as { code?: string }).code, 'TSGI_ERR_HUB_RESOLVE');
    const all = await new Promise<dns.LookupAddress[]>((resolve, reject) =>
      dns.lookup('localhost', { all: true, family: 4 }, (e, addrs) => (e ? reject(e) : resolve(addrs))),
    );
    assert.deepEqual(all, [{ address: '127.0.0.1', family: 4 }]);
    const one = await new Promise<[string, number]>((resolve, reject) =>
      dns.lookup('127.0.0.1', (e, address, family) => (e ? reject(e) : resolve([address, family]))),
    );
    assert.deepEqual(one, ['127.0.0.1', 4]);
  });

  it('unpatched, dns.lookup is Node\'s (the control)', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => dns.lookup('no-such-host.invalid', (e) => resolve(e)));
    assert.equal((err?.cause as { code?: string } | undefined)?.code, undefined);
  });

  it('is harmless twice, undoable, and reported by isPatched', () => {
    const connect = net.Socket.prototype.connect;
    patchNet();
    const patched = net.Socket.prototype.connect;
    patchNet();
    assert.equal(net.Socket.prototype.connect, patched);
    assert.equal(isPatched('net'), true);
    unpatchNet();
    assert.equal(net.Socket.prototype.connect, connect);
    assert.equal(isPatched('net'), false);
  });
});
