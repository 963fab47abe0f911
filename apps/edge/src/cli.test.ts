import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request, startFakeUwsgi, writeHead } from './test-support/fakes.js';

const BIN = fileURLToPath(new URL('../bin/tsgi-edge.js', import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
});

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /tsgi-edge listening on (http:\/\/\S+)\n/.exec(stdout);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`exited before listening: ${stderr}`)));
  });
  listening.catch(() => {});
  return { child, exited, listening, out: () => stdout, err: () => stderr };
}

test('bad flags and config exit 1 with a message naming the flag or key', async () => {
  const a = run(['--listen', '127.0.0.1:0', '--uwsgi-pass', '127.0.0.1:1', '--buffering', 'sometimes']);
  assert.equal(await a.exited, 1);
  assert.match(a.err(), /buffering: expected on or off/);
  assert.match(a.err(), /TSGI_ERR_EDGE_CONFIG/);
  const b = run(['--nope', '1']);
  assert.equal(await b.exited, 1);
  assert.match(b.err(), /--nope: unknown flag/);
  const dir = mkdtempSync(join(tmpdir(), 'edge-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bad.yaml'), 'locations:\n  - prefix: /\n    uwsgi_pass: 127.0.0.1:1\n    buffer_size: lots\n');
  const c = run(['--config', join(dir, 'bad.yaml')]);
  assert.equal(await c.exited, 1);
  assert.match(c.err(), /locations\[0\]\.buffer_size: expected a size/);
  const h = run(['--help']);
  assert.equal(await h.exited, 0);
  assert.match(h.out(), /--uwsgi-pass/);
});

test('SIGTERM: stops accepting, finishes the in-flight response, exits 0', async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await startFakeUwsgi(async ({ socket }) => {
    writeHead(socket);
    socket.write('start\n');
    await released;
    socket.end('end\n');
  });
  cleanups.push(() => up.close());
  const edge = run(['--listen', '127.0.0.1:0', '--uwsgi-pass', up.address, '--buffering', 'off', '--access-log', 'off']);
  const url = await edge.listening;
  let body = '';
  const done = new Promise<boolean>((resolve) => {
    http.get(`${url}/slow`, { agent: false }, (res) => {
      res.on('data', (c) => {
        body += c;
        if (body === 'start\n') {
          edge.child.kill('SIGTERM');
          // Once the edge logged the signal, it no longer accepts: then the upstream may finish.
          const check = () => {
            if (!edge.err().includes('signal SIGTERM received')) return;
            edge.child.stderr!.off('data', check);
            const probe = http.get(`${url}/new`, { agent: false });
            probe.on('error', () => release());
            probe.on('response', () => assert.fail('a new connection was accepted during shutdown'));
          };
          edge.child.stderr!.on('data', check);
        }
      });
      res.on('end', () => resolve(res.complete));
    });
  });
  assert.equal(await done, true);
  assert.equal(body, 'start\nend\n');
  assert.equal(await edge.exited, 0);
  assert.match(edge.err(), /\[notice\] \d+#0: signal SIGTERM received, finishing 1 in-flight request\(s\)/);
});

test('SIGHUP reloads the config file: new requests use the new config, an open keep-alive connection survives', async () => {
  const a = await startFakeUwsgi(({ socket }) => {
    writeHead(socket);
    socket.end('A');
  });
  const b = await startFakeUwsgi(({ socket }) => {
    writeHead(socket);
    socket.end('B');
  });
  cleanups.push(() => a.close(), () => b.close());
  const dir = mkdtempSync(join(tmpdir(), 'edge-hup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'edge.json');
  writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:0', access_log: 'off', locations: [{ prefix: '/', uwsgi_pass: a.address }] }));
  const edge = run(['--config', file]);
  const url = await edge.listening;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  const first = await request(`${url}/`, { agent });
  assert.equal(first.body.toString(), 'A');
  const socketsBefore = [...Object.values(agent.freeSockets)].flat();
  assert.equal(socketsBefore.length, 1);
  writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:0', access_log: 'off', locations: [{ prefix: '/', uwsgi_pass: b.address }] }));
  edge.child.kill('SIGHUP');
  const wait = async () => {
    for (;;) {
      if (edge.err().includes('reconfiguring')) return;
      await once(edge.child.stderr!, 'data');
    }
  };
  await wait();
  const second = await request(`${url}/`, { agent });
  assert.equal(second.body.toString(), 'B');
  const socketsAfter = [...Object.values(agent.freeSockets)].flat();
  assert.equal(socketsAfter[0], socketsBefore[0], 'the same keep-alive connection served both requests');
  // A broken file on reload keeps the running config.
  writeFileSync(file, '{ not json');
  edge.child.kill('SIGHUP');
  for (;;) {
    if (edge.err().includes('reload failed, keeping the running configuration')) break;
    await once(edge.child.stderr!, 'data');
  }
  assert.equal((await request(`${url}/`, { agent })).body.toString(), 'B');
  agent.destroy();
  edge.child.kill('SIGTERM');
  assert.equal(await edge.exited, 0);
});
