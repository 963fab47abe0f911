import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildConfig, parseArgs } from './cli.js';
import { matchLocation, normalizeConfig, parseSocketAddress } from './config.js';
import { EdgeConfigError } from './errors.js';
import { parseBuffers, parseSize, parseTime } from './units.js';

test('nginx size and time syntax', () => {
  assert.equal(parseSize('4k', 'x'), 4096);
  assert.equal(parseSize('1m', 'x'), 1048576);
  assert.equal(parseSize('1G', 'x'), 1073741824);
  assert.equal(parseSize(512, 'x'), 512);
  assert.equal(parseTime('60s', 'x'), 60);
  assert.equal(parseTime('500ms', 'x'), 0.5);
  assert.equal(parseTime('1m30s', 'x'), 90);
  assert.equal(parseTime(2, 'x'), 2);
  assert.deepEqual(parseBuffers('8 4k', 'x'), { count: 8, size: 4096 });
  assert.throws(() => parseSize('4kb', 'buffer_size'), (e: EdgeConfigError) => e.code === 'TSGI_ERR_EDGE_CONFIG' && e.key === 'buffer_size');
  assert.throws(() => parseTime('soon', 'read_timeout'), /read_timeout/);
  assert.throws(() => parseBuffers('8', 'buffers'), /buffers/);
});

test('defaults are nginx defaults', () => {
  const c = normalizeConfig({ locations: [{ uwsgi_pass: '127.0.0.1:3031' }] });
  const l = c.locations[0];
  assert.equal(l.kind, 'uwsgi');
  assert.equal(l.buffering, true);
  assert.deepEqual(l.buffers, { count: 8, size: 4096 });
  assert.equal(l.bufferSize, 4096);
  assert.equal(l.maxTempFileSize, 1024 * 1024 * 1024);
  assert.equal(l.requestBuffering, true);
  assert.equal(l.clientMaxBodySize, 1048576);
  assert.equal(l.connectTimeout, 60);
  assert.equal(l.readTimeout, 60);
  assert.equal(l.sendTimeout, 60);
  assert.equal(l.modifier1, 0);
  assert.equal(l.nextUpstream.error, true);
  assert.equal(l.nextUpstream.timeout, true);
  assert.equal(l.nextUpstream.nonIdempotent, false);
  assert.equal(c.keepaliveTimeout, 75);
  assert.deepEqual(c.listen, { host: undefined, port: 8080 });
});

test('top-level location keys are defaults that a location overrides', () => {
  const c = normalizeConfig({ buffering: 'off', read_timeout: '5s', locations: [{ prefix: '/a', uwsgi_pass: '127.0.0.1:1', buffering: true }, { prefix: '/b', uwsgi_pass: '127.0.0.1:1' }] });
  const a = matchLocation(c, '/a/x')!;
  const b = matchLocation(c, '/b')!;
  assert.equal(a.buffering, true);
  assert.equal(b.buffering, false);
  assert.equal(b.readTimeout, 5);
});

test('longest prefix wins, whatever the order in the file', () => {
  const c = normalizeConfig({
    locations: [
      { prefix: '/', proxy_pass: 'http://127.0.0.1:1' },
      { prefix: '/api/v2/', uwsgi_pass: '127.0.0.1:2' },
      { prefix: '/api/', uwsgi_pass: '127.0.0.1:3' },
    ],
  });
  assert.equal(matchLocation(c, '/api/v2/x')!.prefix, '/api/v2/');
  assert.equal(matchLocation(c, '/api/v1')!.prefix, '/api/');
  assert.equal(matchLocation(c, '/other')!.prefix, '/');
});

test('errors name the key', () => {
  const bad: [unknown, RegExp][] = [
    [{ locations: [{ uwsgi_pass: '127.0.0.1:1', buffering: 'maybe' }] }, /^locations\[0\]\.buffering: /],
    [{ locations: [{ uwsgi_pass: '127.0.0.1:1', bogus: 1 }] }, /^locations\[0\]\.bogus: unknown key/],
    [{ locations: [{ prefix: '/', uwsgi_pass: 'a:1', proxy_pass: 'http://b:2' }] }, /exactly one of/],
    [{ locations: [{ uwsgi_pass: 'nogroup' }] }, /no upstream group named "nogroup"/],
    [{ locations: [] }, /^locations: /],
    [{ listen: 'x:y', locations: [{ uwsgi_pass: '127.0.0.1:1' }] }, /^listen: /],
    [{ upstreams: { app: { servers: [] } }, locations: [{ uwsgi_pass: 'app' }] }, /^upstreams\.app\.servers: /],
    [{ upstreams: { app: { servers: [{ address: '127.0.0.1:1', weight: 0 }] } }, locations: [{ uwsgi_pass: 'app' }] }, /^upstreams\.app\.servers\[0\]\.weight: /],
    [{ upstreams: { app: { servers: ['127.0.0.1:1'], balance: 'random' } }, locations: [{ uwsgi_pass: 'app' }] }, /^upstreams\.app\.balance: /],
    [{ locations: [{ uwsgi_pass: '127.0.0.1:1', next_upstream: 'error sometimes' }] }, /^locations\[0\]\.next_upstream: unknown value "sometimes"/],
    [{ locations: [{ uwsgi_pass: '127.0.0.1:1', read_timeout: 0 }] }, /^locations\[0\]\.read_timeout: must be more than 0/],
    [{ locations: [{ prefix: '/', uwsgi_pass: '127.0.0.1:1' }, { prefix: '/', uwsgi_pass: '127.0.0.1:2' }] }, /duplicate location prefix/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => normalizeConfig(raw), (e: Error) => e instanceof EdgeConfigError && re.test(e.message), JSON.stringify(raw));
  }
});

test('upstream groups and addresses', () => {
  const c = normalizeConfig({
    upstreams: { app: { balance: 'least_conn', servers: [{ address: '127.0.0.1:3031', weight: 3, max_fails: 2, fail_timeout: '30s' }, 'unix:/run/app.sock'] } },
    locations: [{ uwsgi_pass: 'app' }, { prefix: '/h/', proxy_pass: 'http://[::1]:8000/base/' }],
  });
  const g = c.upstreams.get('app')!;
  assert.equal(g.balance, 'least_conn');
  assert.deepEqual(g.servers.map((s) => [s.label, s.weight, s.maxFails, s.failTimeout]), [['127.0.0.1:3031', 3, 2, 30], ['unix:/run/app.sock', 1, 1, 10]]);
  const h = matchLocation(c, '/h/x')!;
  assert.equal(h.kind, 'proxy');
  assert.equal(h.kind === 'proxy' && h.uriPrefix, '/base/');
  assert.equal(c.upstreams.get(h.kind === 'proxy' ? h.upstream : '')!.servers[0].label, '[::1]:8000');
  assert.deepEqual(parseSocketAddress(':8080', 'listen'), { host: undefined, port: 8080 });
  assert.deepEqual(parseSocketAddress('unix:/tmp/s', 'listen'), { path: '/tmp/s' });
});

test('CLI flags: simple case, overrides, and errors naming the flag', async () => {
  const c = await buildConfig(parseArgs(['--listen', '127.0.0.1:0', '--uwsgi-pass', '127.0.0.1:3031', '--buffering', 'off', '--access-log', 'off']));
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 0 });
  assert.equal(c.accessLog, null);
  assert.equal(c.locations[0].buffering, false);
  assert.equal(c.locations[0].kind, 'uwsgi');
  const p = await buildConfig(parseArgs(['--proxy-pass=http://127.0.0.1:9000', '--read-timeout', '2s']));
  assert.equal(p.locations[0].kind, 'proxy');
  assert.equal(p.locations[0].readTimeout, 2);
  assert.throws(() => parseArgs(['--bufering', 'off']), /--bufering: unknown flag/);
  assert.throws(() => parseArgs(['--listen']), /--listen: needs a value/);
  await assert.rejects(buildConfig(parseArgs(['--listen', ':1'])), /nothing to serve/);
  await assert.rejects(buildConfig(parseArgs(['--uwsgi-pass', '127.0.0.1:1', '--buffering', 'sometimes'])), /^EdgeConfigError: buffering: /);
  await assert.rejects(buildConfig(parseArgs(['--config', '/nonexistent/edge.yaml'])), /--config: cannot read/);
});
