import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { decodeProcNetAddress, ipAddressBytes, listenQueueLength, tcpListenQueueFromProc, unixListenQueueFromProc } from './listen-queue.js';

const PROC_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   7: 0100007F:A939 00000000:0000 0A 00000000:00000004 00:00000000 00000000     0        0 326178 5 000000004f701d50 100 0 0 10 0
  17: 0100007F:A939 0100007F:DF62 01 00000000:00000003 00:00000000 00000000     0        0 0 1 00000000be6361f6 20 0 0 10 -1
   8: 00000000:0BB8 00000000:0000 0A 00000000:0000000C 00:00000000 00000000     0        0 326179 5 000000004f701d51 100 0 0 10 0
`;

const PROC_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000009 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
`;

const PROC_UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
000000001eda5d3d: 00000003 00000000 00000000 0001 02     0 /tmp/lq.sock
000000001864b216: 00000003 00000000 00000000 0001 02     0 /tmp/lq.sock
00000000baefe300: 00000002 00000000 00010000 0001 01 326169 /tmp/lq.sock
00000000502a6f9e: 00000003 00000000 00000000 0001 03 326170 /tmp/lq.sock
00000000502a6f9f: 00000002 00000000 00010000 0001 01 326171 /tmp/with space.sock
00000000502a6fa0: 00000003 00000000 00000000 0001 03 326172
`;

test('IP addresses to bytes, /proc/net addresses decoded in host word order', () => {
  assert.deepEqual(ipAddressBytes('127.0.0.1'), [127, 0, 0, 1]);
  assert.deepEqual(ipAddressBytes('::1'), [...Array(15).fill(0), 1]);
  assert.deepEqual(ipAddressBytes('[::ffff:10.1.2.3]'), [...Array(10).fill(0), 0xff, 0xff, 10, 1, 2, 3]);
  assert.deepEqual(ipAddressBytes('fe80::1:2%eth0'), [0xfe, 0x80, ...Array(10).fill(0), 0, 1, 0, 2]);
  assert.equal(ipAddressBytes('localhost'), null);
  assert.deepEqual(decodeProcNetAddress('0100007F:0BB8', true), { bytes: [127, 0, 0, 1], port: 3000 });
  assert.deepEqual(decodeProcNetAddress('7F000001:0BB8', false), { bytes: [127, 0, 0, 1], port: 3000 });
  assert.deepEqual(decodeProcNetAddress('00000000000000000000000001000000:1F90', true)?.bytes, ipAddressBytes('::1'));
  assert.equal(decodeProcNetAddress('zz:1', true), null);
});

test('the rx_queue of the LISTEN entry is the accept backlog; other states and addresses are ignored', () => {
  assert.equal(tcpListenQueueFromProc(PROC_TCP, '127.0.0.1', 0xa939, true), 4);
  assert.equal(tcpListenQueueFromProc(PROC_TCP, '0.0.0.0', 3000, true), 12);
  assert.equal(tcpListenQueueFromProc(PROC_TCP, '127.0.0.1', 3000, true), undefined);
  assert.equal(tcpListenQueueFromProc(PROC_TCP6, '::1', 8080, true), 2);
  assert.equal(tcpListenQueueFromProc(PROC_TCP6, '::', 8081, true), 9);
  assert.equal(tcpListenQueueFromProc('garbage\n\n', '::', 8081, true), undefined);
});

test('/proc/net/unix: queued connections are the SS_CONNECTING entries without inode under the listener path', () => {
  assert.equal(unixListenQueueFromProc(PROC_UNIX, '/tmp/lq.sock'), 2);
  assert.equal(unixListenQueueFromProc(PROC_UNIX, '/tmp/with space.sock'), 0);
  assert.equal(unixListenQueueFromProc(PROC_UNIX, '/tmp/none.sock'), undefined);
});

/**
 * A listener in a child process whose event loop is blocked right after listen(): the kernel
 * completes connections into its backlog and nobody accepts them.
 */
async function blockedListener(t: TestContext, target: { host: string } | { path: string }): Promise<{ port?: number; path?: string }> {
  const script = `
    const net = require('node:net'); const fs = require('node:fs');
    const target = ${JSON.stringify(target)};
    const server = net.createServer();
    server.listen('path' in target ? { path: target.path, backlog: 16 } : { host: target.host, port: 0, backlog: 16 }, () => {
      fs.writeSync(1, JSON.stringify(server.address()) + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`listener child exited with ${code}`)));
  });
  const address = JSON.parse(line);
  return typeof address === 'string' ? { path: address } : { port: address.port };
}

async function connectMany(t: TestContext, n: number, connect: () => net.Socket): Promise<void> {
  for (let i = 0; i < n; i++) {
    const socket = connect();
    t.after(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  }
}

const linux = process.platform === 'linux';

test('a real TCP listener nobody accepts from: queue grows with each connection', { skip: !linux && 'reads /proc (Linux only)' }, async (t) => {
  const { port } = await blockedListener(t, { host: '127.0.0.1' });
  assert.equal(await listenQueueLength(`127.0.0.1:${port}`), 0);
  await connectMany(t, 3, () => net.connect(port!, '127.0.0.1'));
  assert.equal(await listenQueueLength({ kind: 'tcp', host: '127.0.0.1', port: port!, family: 4, spec: '' }), 3);
});

test('a real IPv6 loopback listener', { skip: !linux && 'reads /proc (Linux only)' }, async (t) => {
  const probe = net.createServer();
  const hasV6 = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!hasV6) {
    t.diagnostic('no ::1 on this machine; IPv6 reading is covered by the /proc/net/tcp6 text test');
    return;
  }
  const { port } = await blockedListener(t, { host: '::1' });
  await connectMany(t, 2, () => net.connect(port!, '::1'));
  assert.equal(await listenQueueLength(`[::1]:${port}`), 2);
});

test('a real unix listener nobody accepts from', { skip: !linux && 'reads /proc (Linux only)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-lq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { path } = await blockedListener(t, { path: join(dir, 'app.sock') });
  assert.equal(await listenQueueLength(path!), 0);
  await connectMany(t, 4, () => net.connect(path!));
  assert.equal(await listenQueueLength(path!), 4);
});

test('unknown addresses and bad input resolve undefined, never reject', async () => {
  assert.equal(await listenQueueLength('/nonexistent/dir/x.sock'), undefined);
  assert.equal(await listenQueueLength('127.0.0.1:1'), undefined);
  assert.equal(await listenQueueLength('host:notaport'), undefined);
});
