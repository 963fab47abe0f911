import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { BOUND_SOCKET_LINE, parseBoundSocketLine, parseBoundSockets, socketKindsFromArgs } from './bound-sockets.js';
import { peerSkipReason } from './peers.js';
import { formatAddress, listeningTcpAddresses, parseProcNetTcp, withPortRetry } from './ports.js';

const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:B2A9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0100007F:B2AA 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 123457 1 0000000000000000 20 4 30 10 -1
`;
const PROC_NET_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
`;

describe('parseProcNetTcp', () => {
  it('keeps LISTEN sockets only, keyed by inode, with host-order addresses decoded', () => {
    assert.deepEqual([...parseProcNetTcp(PROC_NET_TCP)], [['123456', { host: '127.0.0.1', port: 0xb2a9 }]]);
  });
  it('decodes IPv6 loopback', () => {
    assert.deepEqual([...parseProcNetTcp(PROC_NET_TCP6)], [['99', { host: '::1', port: 8080 }]]);
  });
});

describe('listeningTcpAddresses', () => {
  it('finds the port a process bound to port 0, from /proc', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const found = await listeningTcpAddresses(process.pid);
    server.close();
    assert.ok(found.some((a) => a.host === '127.0.0.1' && a.port === port), JSON.stringify(found));
  });
});

describe('withPortRetry', () => {
  it('starts over on a fresh port when the bind fails with "Address already in use"', async () => {
    const tried: number[] = [];
    const result = await withPortRetry(async (port) => {
      tried.push(port);
      if (tried.length < 3) throw new Error(`bind() to 127.0.0.1:${port} failed (98: Address already in use)`);
      return 'bound';
    });
    assert.equal(result, 'bound');
    assert.equal(tried.length, 3);
  });
  it('does not retry other failures', async () => {
    let calls = 0;
    await assert.rejects(withPortRetry(async () => {
      calls++;
      throw new Error('config error');
    }), /config error/);
    assert.equal(calls, 1);
  });
});

describe('bound-socket lines (uWSGI and tsgi)', () => {
  it('parses TCP (auto-assigned or not) and UNIX sockets', () => {
    assert.deepEqual(parseBoundSocketLine('uwsgi socket 0 bound to TCP address 127.0.0.1:45737 (port auto-assigned) fd 3'), { index: 0, address: { host: '127.0.0.1', port: 45737 }, fd: 3 });
    assert.deepEqual(parseBoundSocketLine('uwsgi socket 2 bound to TCP address 127.0.0.1:19001 fd 5'), { index: 2, address: { host: '127.0.0.1', port: 19001 }, fd: 5 });
    assert.deepEqual(parseBoundSocketLine('uwsgi socket 1 bound to UNIX address /tmp/x y.sock fd 4'), { index: 1, address: { path: '/tmp/x y.sock' }, fd: 4 });
    assert.deepEqual(parseBoundSocketLine('uwsgi socket 0 bound to TCP address [::1]:3031 fd 3')?.address, { host: '::1', port: 3031 });
    assert.equal(parseBoundSocketLine('uWSGI http bound on 127.0.0.1:0 fd 3'), undefined);
    assert.ok(BOUND_SOCKET_LINE.test('uwsgi socket 0 bound to TCP address :3031 fd 3'));
  });
  it('orders sockets by number, whatever order the lines came in', () => {
    const sockets = parseBoundSockets(['uwsgi socket 1 bound to UNIX address /s fd 5', 'noise', 'uwsgi socket 0 bound to TCP address 127.0.0.1:1 fd 3']);
    assert.deepEqual(sockets.map((s) => s.index), [0, 1]);
  });
  it('maps socket numbers to kinds by the order of the options', () => {
    assert.deepEqual(socketKindsFromArgs(['--gevent', '10', '--http-socket', ':0', '--module', 'x', '--socket=/s', '-s', ':0']), ['http', 'uwsgi', 'uwsgi']);
  });
  it('formats addresses for uwsgi_pass and --http-to', () => {
    assert.equal(formatAddress({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
    assert.equal(formatAddress({ host: '::1', port: 1 }), '[::1]:1');
    assert.equal(formatAddress({ path: '/s' }), '/s');
  });
});

describe('peerSkipReason', () => {
  it('names the missing peer and the packages to install', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      // curl lives in /usr/bin, which is not among the sbin directories always searched.
      assert.match(peerSkipReason('curl') ?? '', /^peer missing: curl \(install with: apt-get install curl\)$/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
