// The direct path of issue 10: on --http-socket, Node listeners get the req/res of tsgi's own HTTP
// server and fetch handlers a Request built lazily over it, while everything the engine promises
// (greenlet, request context, async-core limit, harakiri, log line, client-disconnect handling)
// still holds. Through nginx uwsgi_pass the same apps take the environ path.
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasBinary, httpGetChunks, programSkipReason, REPO_ROOT, startNginx, startTsgi, type RunningNginx, type RunningTsgi } from './support/index.js';

const APPS = join(REPO_ROOT, 'e2e', 'apps', 'frameworks');
const skip = programSkipReason('tsgi');
const noNginx = hasBinary('nginx') ? false : 'nginx is not installed';

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await httpGetChunks(url, { timeout: 20 });
  assert.equal(res.status, 200, `${url}: ${res.body.toString()}`);
  return JSON.parse(res.body.toString()) as Record<string, unknown>;
}

/** Reads the first piece of a streamed response, then closes the connection. */
function readFirstThenLeave(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.toString());
      });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
  });
}

/** A GET whose connection may end early: what arrived, and whether the response ended cleanly. */
function getMaybeCut(url: string): Promise<{ status: number; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
    });
    req.on('error', reject);
  });
}

describe('Express on the direct path (--http-socket)', { skip }, () => {
  let tsgi: RunningTsgi;
  let nginx: RunningNginx | undefined;

  before(async () => {
    tsgi = await startTsgi(['--gevent', '2', '--socket', '127.0.0.1:0', '--http-socket', '127.0.0.1:0', '--module', join(APPS, 'direct-express.ts'), '--harakiri', '2'], {
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (!noNginx) nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: tsgi.uwsgiAddress!, buffering: false }] });
  });

  after(async () => {
    await Promise.allSettled([tsgi?.stop(), nginx?.stop()]);
  });

  test("the listener gets Node's own socket, in the request's greenlet and request context", async () => {
    const direct = await getJson(tsgi.url + '/socket');
    assert.equal(direct.realSocket, true);
    assert.equal(direct.sameSocket, true);
    assert.equal(direct.inGreenlet, true);
    assert.ok(direct.core === 0 || direct.core === 1, `core ${String(direct.core)}`);
  });

  test('through uwsgi_pass the same app gets the rebuilt request (the environ path)', { skip: noNginx }, async () => {
    const viaNginx = await getJson(nginx!.url + '/socket');
    assert.equal(viaNginx.realSocket, false);
    assert.equal(viaNginx.inGreenlet, true);
  });

  test('--gevent 2: no more than two requests run at once; the others wait for a core', async () => {
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => httpGetChunks(tsgi.url + '/slow', { timeout: 20 })));
    for (const res of answers) assert.equal(res.body.toString(), 'slow done');
    assert.deepEqual(await getJson(tsgi.url + '/most'), { most: 2 });
  });

  test('the request log line has the status, the body bytes as written and the header block', async () => {
    const mark = tsgi.lines().length;
    const res = await httpGetChunks(tsgi.url + '/bytes', { timeout: 20 });
    assert.equal(res.body.toString(), 'abcdefgh');
    await tsgi.waitForLine(/GET \/bytes => generated 8 bytes in \d+ msecs \(HTTP\/1\.1 200\) [1-9]\d* headers in [1-9]\d* bytes/, 10, mark);
  });

  test('a client that leaves mid-response is logged, and its core is freed', async () => {
    const mark = tsgi.lines().length;
    assert.match(await readFirstThenLeave(tsgi.url + '/drip'), /^drop 0/);
    await tsgi.waitForLine(/Broken pipe \[TSGI_ERR_CLIENT_GONE\] during GET \/drip/, 10, mark);
    await tsgi.waitForLine(/GET \/drip => generated \d+ bytes/, 10, mark);
    const answers = await Promise.all([1, 2].map(() => httpGetChunks(tsgi.url + '/bytes', { timeout: 20 })));
    for (const res of answers) assert.equal(res.status, 200);
  });

  test('--harakiri: 504 before the headers went out; the connection is cut after', async () => {
    const mark = tsgi.lines().length;
    const [early, late] = await Promise.all([getMaybeCut(tsgi.url + '/stuck'), getMaybeCut(tsgi.url + '/stuck-after-headers')]);
    assert.equal(early.status, 504);
    assert.match(early.body, /--harakiri/);
    assert.equal(late.status, 200);
    assert.equal(late.body, 'started\n');
    assert.equal(late.complete, false);
    await tsgi.waitForLine(/HARAKIRI ON WORKER 1 CORE \d+ .*request "GET \/stuck"/, 10, mark);
    await tsgi.waitForLine(/HARAKIRI ON WORKER 1 CORE \d+ .*request "GET \/stuck-after-headers"/, 10, mark);
    await tsgi.waitForLine(/GET \/stuck => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 504\)/, 10, mark);
    assert.equal((await httpGetChunks(tsgi.url + '/bytes', { timeout: 20 })).status, 200);
  });
});

describe('a fetch handler on the direct path (--http-socket)', { skip }, () => {
  let tsgi: RunningTsgi;
  let nginx: RunningNginx | undefined;

  before(async () => {
    tsgi = await startTsgi(['--gevent', '4', '--socket', '127.0.0.1:0', '--http-socket', '127.0.0.1:0', '--module', join(APPS, 'direct-fetch.ts'), '--harakiri', '2']);
    if (!noNginx) nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: tsgi.uwsgiAddress!, buffering: false }] });
  });

  after(async () => {
    await Promise.allSettled([tsgi?.stop(), nginx?.stop()]);
  });

  test('the handler gets a Request built lazily over Node’s req, the environ on demand, in its greenlet', async () => {
    const direct = await getJson(tsgi.url + '/kind');
    assert.equal(direct.request, 'LazyRequest');
    assert.equal(direct.isRequest, true);
    assert.equal(direct.remoteAddr, '127.0.0.1');
    assert.equal(direct.inGreenlet, true);
    assert.equal(typeof direct.core, 'number');
  });

  test('through uwsgi_pass the handler gets a Request made from the environ', { skip: noNginx }, async () => {
    const viaNginx = await getJson(nginx!.url + '/kind');
    assert.equal(viaNginx.request, 'Request');
    assert.equal(viaNginx.remoteAddr, '127.0.0.1');
  });

  test('the body is read when the handler asks for it; new Request(request, init) works', async () => {
    const body = 'x'.repeat(100_000);
    const echo = await httpGetChunks(tsgi.url + '/echo', { method: 'POST', body, headers: { 'content-type': 'text/plain' }, timeout: 20 });
    assert.equal(echo.body.toString(), `echo:${body}`);
    const rewrap = await httpGetChunks(tsgi.url + '/rewrap', { method: 'POST', body: 'inside', headers: { 'content-type': 'text/plain' }, timeout: 20 });
    const parsed = JSON.parse(rewrap.body.toString()) as Record<string, unknown>;
    assert.deepEqual(parsed, { method: 'POST', url: `${tsgi.url}/rewrap`, copied: 'yes', body: 'inside' });
  });

  test('bytes bodies go out whole with their length; stream bodies as they come', async () => {
    const bytes = await httpGetChunks(tsgi.url + '/bytes', { timeout: 20 });
    assert.equal(bytes.status, 201);
    assert.equal(bytes.headers['content-length'], '3');
    assert.equal(bytes.headers['x-kind'], 'bytes');
    assert.equal(bytes.body.toString(), 'hi!');
    const stream = await httpGetChunks(tsgi.url + '/stream', { timeout: 20 });
    assert.equal(stream.body.toString(), 'part 0\npart 1\npart 2\n');
    assert.ok(stream.chunks.length >= 2, `the stream came in ${stream.chunks.length} piece(s)`);
  });

  test('--harakiri answers 504 for a stuck handler, and the request is logged', async () => {
    const mark = tsgi.lines().length;
    const stuck = await getMaybeCut(tsgi.url + '/stuck');
    assert.equal(stuck.status, 504);
    await tsgi.waitForLine(/HARAKIRI ON WORKER 1 CORE \d+ .*request "GET \/stuck"/, 10, mark);
    await tsgi.waitForLine(/GET \/stuck => generated \d+ bytes in \d+ msecs \(HTTP\/1\.1 504\)/, 10, mark);
  });
});
