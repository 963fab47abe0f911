import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { StatsSnapshot } from './stats-snapshot.js';
import { uwsgiStatsDocument } from './uwsgi-stats-document.js';

const fixture = (name: string): any => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const snapshot = (): StatsSnapshot => fixture('tsgi-snapshot.json');
const sample = fixture('uwsgi-2.0.21-stats-sample.json');

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  return typeof value;
}

function assertSameShape(ours: Record<string, unknown>, theirs: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(theirs)) {
    assert.ok(key in ours, `${where}.${key} is missing`);
    assert.equal(jsonType(ours[key]), jsonType(value), `${where}.${key}: ${jsonType(ours[key])} where uWSGI writes ${jsonType(value)}`);
  }
}

test('every key of uWSGI 2.0.21 stats (top level, worker, app, core, socket, lock) is present with the same JSON type', () => {
  const doc = JSON.parse(JSON.stringify(uwsgiStatsDocument(snapshot())));
  assertSameShape(doc, sample, 'stats');
  assertSameShape(doc.workers[0], sample.workers[0], 'workers[0]');
  assertSameShape(doc.workers[0].apps[0], sample.workers[0].apps[0], 'workers[0].apps[0]');
  assertSameShape(doc.workers[0].cores[0], sample.workers[0].cores[0], 'workers[0].cores[0]');
  assertSameShape(doc.sockets[0], sample.sockets[0], 'sockets[0]');
  assert.deepEqual(
    doc.locks.map((l: object) => Object.keys(l)[0]),
    sample.locks.map((l: object) => Object.keys(l)[0]),
  );
  // A busy core: uWSGI's vars are KEY=VALUE strings and req_info carries request_start.
  const busyTheirs = sample.workers[0].cores.find((c: { in_request: number }) => c.in_request === 1);
  const busyOurs = doc.workers[0].cores.find((c: { in_request: number }) => c.in_request === 1);
  assertSameShape(busyOurs, busyTheirs, 'busy core');
  assertSameShape(busyOurs.req_info, busyTheirs.req_info, 'busy core req_info');
});

test('uWSGI units and encodings: µs, bytes, epoch seconds, 0/1 flags', () => {
  const doc = uwsgiStatsDocument(snapshot(), { now: 1_700_000_500_000 });
  const w = doc.workers[0];
  assert.equal(w.avg_rt, 50000);
  assert.equal(w.running_time, 6000000);
  assert.equal(w.rss, 52428800);
  assert.equal(w.vsz, 1073741824);
  assert.equal(w.last_spawn, 1700000000);
  assert.equal(w.accepting, 1);
  assert.equal(w.status, 'busy');
  assert.equal(w.harakiri_count, 1);
  assert.equal(w.respawn_count, 1);
  assert.equal(w.tx, 24000);
  assert.equal(w.delta_requests, 120);
  // uWSGI's app counter counts started requests: finished plus the one in flight.
  assert.equal(w.apps[0].requests, 121);
  assert.deepEqual(
    w.cores.map((c) => c.in_request),
    [0, 0, 1, 0],
  );
  const busy = w.cores[2];
  assert.equal(busy.req_info.request_start, 1_700_000_497);
  assert.deepEqual(busy.vars, ['REQUEST_METHOD=GET', 'REQUEST_URI=/slow?x=1', 'PATH_INFO=/slow', 'QUERY_STRING=x=1', 'REMOTE_ADDR=10.0.0.7']);
  assert.deepEqual(w.cores[0].vars, []);
  assert.deepEqual(w.cores[0].req_info, {});
  assert.equal(doc.listen_queue, 3);
  assert.equal(doc.listen_queue_errors, 1);
  assert.deepEqual(doc.sockets[0], { name: '127.0.0.1:3031', proto: 'uwsgi', queue: 3, max_queue: 100, shared: 0, can_offload: 0 });
});

test('tsgi figures ride along under tsgi_* keys that uWSGI never uses', () => {
  const doc = uwsgiStatsDocument(snapshot());
  assert.equal(doc.workers[0].tsgi_background_greenlets, 7);
  assert.equal(doc.workers[0].tsgi_waiting_for_core, 2);
  assert.equal(doc.workers[1].tsgi_unhandled_greenlet_errors, 1);
  assert.equal(doc.tsgi_server, 'tsgi');
  const uwsgiKeys = new Set([...Object.keys(sample), ...Object.keys(sample.workers[0])]);
  const extras = [...Object.keys(doc), ...Object.keys(doc.workers[0])].filter((k) => !uwsgiKeys.has(k));
  assert.ok(extras.length > 0);
  for (const key of extras) assert.match(key, /^tsgi_/);
});

test('garbage in a snapshot (NaN, negative, fractional, missing arrays) becomes uWSGI-typed zeros, never throws', () => {
  const bad = snapshot() as any;
  bad.listenQueue = Number.NaN;
  bad.load = -3;
  bad.workers[0].avgRt = 1234.7;
  bad.workers[0].rss = Infinity;
  bad.workers[1].cores = undefined;
  bad.sockets = null;
  const doc = JSON.parse(JSON.stringify(uwsgiStatsDocument(bad)));
  assert.equal(doc.listen_queue, 0);
  assert.equal(doc.load, 0);
  assert.equal(doc.workers[0].avg_rt, 1234);
  assert.equal(doc.workers[0].rss, 0);
  assert.deepEqual(doc.workers[1].cores, []);
  assert.deepEqual(doc.sockets, []);
});
