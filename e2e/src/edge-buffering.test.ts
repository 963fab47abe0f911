// tsgi-edge against the real peers: Debian's uWSGI (--gevent 100) running a small streaming app behind it, and
// the same buffering checks run against real nginx with the same locations, so the two answer the same test.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  curlN,
  formatAddress,
  httpGetChunks,
  makeTempDir,
  peerSkipReason,
  programSkipReason,
  REPO_ROOT,
  startEdge,
  startNginx,
  startUwsgi,
  stopAll,
  type RunningEdge,
  type RunningNginx,
  type RunningUwsgi,
} from './support/index.js';

const APP = resolve(REPO_ROOT, 'apps/edge/test-fixtures/stream_app.py');
const skip = peerSkipReason('uwsgi', 'nginx', 'curl') ?? programSkipReason('tsgi-edge');
/** The app sleeps this long between its first and second chunk. */
const SLEEP = 3;

describe('tsgi-edge and nginx in front of real uWSGI + gevent', { skip }, () => {
  let uwsgi: RunningUwsgi;
  let edge: RunningEdge;
  let nginx: RunningNginx;
  before(async () => {
    uwsgi = await startUwsgi({ app: APP, gevent: 100 });
    const upstream = formatAddress(uwsgi.address!);
    const dir = makeTempDir('edge-e2e');
    const config = join(dir, 'edge.yaml');
    writeFileSync(
      config,
      [
        'listen: 127.0.0.1:0',
        'server_name: tsgi-e2e.local',
        'access_log: off',
        'locations:',
        `  - { prefix: /unbuffered/, uwsgi_pass: "${upstream}", buffering: off }`,
        `  - { prefix: /buffered/, uwsgi_pass: "${upstream}", buffering: on }`,
        `  - { prefix: /accel-no/, uwsgi_pass: "${upstream}" }`,
        `  - { prefix: /env/, uwsgi_pass: "${upstream}" }`,
        `  - { prefix: /exc-before/, uwsgi_pass: "${upstream}" }`,
        '',
      ].join('\n'),
    );
    edge = await startEdge(['--config', config]);
    nginx = await startNginx({
      accessLog: false,
      locations: [
        { prefix: '/unbuffered/', uwsgiPass: uwsgi.address!, buffering: false },
        { prefix: '/buffered/', uwsgiPass: uwsgi.address!, buffering: true },
        { prefix: '/accel-no/', uwsgiPass: uwsgi.address! },
        { prefix: '/env/', uwsgiPass: uwsgi.address! },
        { prefix: '/exc-before/', uwsgiPass: uwsgi.address! },
      ],
    });
  });
  after(() => stopAll());

  const fronts = () => [
    ['tsgi-edge', edge.url],
    ['nginx', nginx.url],
  ] as const;

  test('buffering off: "sleeping for 3 seconds..." reaches curl -N before the app finishes', async () => {
    const results = await Promise.all(fronts().map(async ([name, url]) => [name, await curlN(`${url}/unbuffered/`)] as const));
    for (const [name, r] of results) {
      assert.equal(r.exitCode, 0, name);
      assert.equal(r.body.toString(), 'sleeping for 3 seconds...\ndone\n', name);
      assert.ok(r.chunks[0].data.toString().startsWith('sleeping'), name);
      // Causal bound: the app cannot send "done" before its sleep ends, so a first chunk before SLEEP s was relayed early.
      assert.ok(r.chunks[0].at < SLEEP, `${name}: first chunk at ${r.chunks[0].at.toFixed(3)} s`);
      assert.ok(r.elapsed >= SLEEP, name);
    }
  });

  test('buffering on: everything, headers included, arrives at once after the app finished', async () => {
    const results = await Promise.all(fronts().map(async ([name, url]) => [name, await httpGetChunks(`${url}/buffered/`)] as const));
    for (const [name, r] of results) {
      assert.equal(r.status, 200, name);
      assert.equal(r.body.toString(), 'sleeping for 3 seconds...\ndone\n', name);
      assert.ok(r.headersAt >= SLEEP, `${name}: head at ${r.headersAt.toFixed(3)} s`);
      assert.equal(r.chunks.length, 1, `${name}: one piece`);
      assert.equal(r.headers['transfer-encoding'], 'chunked', name);
    }
  });

  test('X-Accel-Buffering: no from the app streams through a buffering location, and is hidden', async () => {
    const results = await Promise.all(fronts().map(async ([name, url]) => [name, await httpGetChunks(`${url}/accel-no/`)] as const));
    for (const [name, r] of results) {
      assert.ok(r.chunks[0].at < SLEEP, `${name}: first chunk at ${r.chunks[0].at.toFixed(3)} s`);
      assert.equal(r.headers['x-accel-buffering'], undefined, name);
    }
  });

  test('an app that raises before start_response: 502 and the same error-log text from both', async () => {
    const text = 'upstream prematurely closed connection while reading response header from upstream';
    for (const [name, url] of fronts()) {
      const r = await httpGetChunks(`${url}/exc-before/`);
      assert.equal(r.status, 502, name);
    }
    await edge.waitForLine(new RegExp(`\\[error\\] \\d+#0: \\*\\d+ ${text}, client: 127\\.0\\.0\\.1, server: tsgi-e2e\\.local, request: "GET /exc-before/ HTTP/1\\.1", upstream: "uwsgi://`), 10);
    assert.ok(nginx.errorLog().includes(text), nginx.errorLog());
  });

  test('the app sees the same uwsgi vars from tsgi-edge as from nginx', async () => {
    const get = async (url: string) => {
      const r = await httpGetChunks(`${url}/env/p%20q/../x?a=1&b=2`, { headers: { Host: 'Front.Example:8080', 'X-Custom': 'v', Cookie: 'k=1' } });
      assert.equal(r.status, 200);
      return JSON.parse(r.body.toString()) as Record<string, string>;
    };
    const [viaEdge, viaNginx] = await Promise.all([get(edge.url), get(nginx.url)]);
    // Per-connection or per-install values differ by nature; everything else must be identical.
    const varying = new Set(['REMOTE_PORT', 'SERVER_PORT', 'DOCUMENT_ROOT', 'uwsgi.core']);
    const strip = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([k]) => !varying.has(k)));
    assert.deepEqual(strip(viaEdge), strip(viaNginx));
    assert.equal(viaEdge.HTTP_HOST, 'front.example');
  });
});
