import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { prometheusText } from './prometheus-text.js';
import type { StatsSnapshot } from './stats-snapshot.js';

const snapshot = (): StatsSnapshot => JSON.parse(readFileSync(new URL('./fixtures/tsgi-snapshot.json', import.meta.url), 'utf8'));

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text exposition format 0.0.4: any line it cannot read fails the test. */
function parseExposition(text: string): { help: Map<string, string>; type: Map<string, string>; samples: Sample[] } {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      assert.ok(!help.has(m[1]), `HELP for ${m[1]} appears once`);
      help.set(m[1], m[2]);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.ok(!type.has(m[1]), `TYPE for ${m[1]} appears once`);
      assert.ok(!samples.some((s) => s.name === m![1]), `TYPE for ${m[1]} comes before its samples`);
      type.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unreadable line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest !== '') {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
      assert.ok(l, `unreadable labels in ${JSON.stringify(line)}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(m[3] === 'NaN' || !Number.isNaN(value), `bad value in ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { help, type, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('the exposition parses; every sample has HELP and TYPE; counters end in _total', () => {
  const { help, type, samples } = parseExposition(prometheusText(snapshot()));
  assert.ok(samples.length > 50);
  for (const s of samples) {
    assert.ok(help.has(s.name), `HELP for ${s.name}`);
    assert.ok(type.has(s.name), `TYPE for ${s.name}`);
    if (type.get(s.name) === 'counter') assert.match(s.name, /_total$/);
  }
});

test('per-worker and per-core figures carry worker/core labels, times in seconds', () => {
  const { samples } = parseExposition(prometheusText(snapshot()));
  assert.equal(value(samples, 'tsgi_worker_requests_total', { worker: '1' }), 120);
  assert.equal(value(samples, 'tsgi_worker_requests_total', { worker: '2' }), 80);
  assert.equal(value(samples, 'tsgi_worker_exceptions_total', { worker: '1' }), 2);
  assert.equal(value(samples, 'tsgi_worker_avg_response_time_seconds', { worker: '1' }), 0.05);
  assert.equal(value(samples, 'tsgi_worker_running_time_seconds_total', { worker: '2' }), 3);
  assert.equal(value(samples, 'tsgi_worker_rss_bytes', { worker: '1' }), 52428800);
  assert.equal(value(samples, 'tsgi_worker_background_greenlets', { worker: '1' }), 7);
  assert.equal(value(samples, 'tsgi_worker_waiting_for_core', { worker: '1' }), 2);
  assert.equal(value(samples, 'tsgi_worker_busy_cores', { worker: '1' }), 1);
  assert.equal(value(samples, 'tsgi_worker_cores', { worker: '2' }), 4);
  assert.equal(value(samples, 'tsgi_worker_status', { worker: '1', state: 'busy' }), 1);
  assert.equal(value(samples, 'tsgi_worker_status', { worker: '1', state: 'idle' }), 0);
  assert.equal(value(samples, 'tsgi_worker_status', { worker: '2', state: 'idle' }), 1);
  assert.equal(value(samples, 'tsgi_core_requests_total', { worker: '1', core: '2' }), 20);
  assert.equal(value(samples, 'tsgi_core_in_request', { worker: '1', core: '2' }), 1);
  assert.equal(value(samples, 'tsgi_listen_queue'), 3);
  assert.equal(value(samples, 'tsgi_socket_max_queue', { socket: '127.0.0.1:3031', proto: 'uwsgi' }), 100);
  assert.equal(value(samples, 'tsgi_info', { version: '0.1.0', pid: '4242' }), 1);
});

test('sig<N> maps to the "signal" state; label values with quotes, backslashes and newlines are escaped', () => {
  const snap = snapshot();
  snap.workers[0].status = 'sig17';
  snap.sockets[0].name = '/run/a "b"\\c\nd.sock';
  const { samples } = parseExposition(prometheusText(snap));
  assert.equal(value(samples, 'tsgi_worker_status', { worker: '1', state: 'signal' }), 1);
  assert.equal(value(samples, 'tsgi_socket_queue', { socket: '/run/a "b"\\c\nd.sock' }), 3);
});

test('no workers: HELP/TYPE still present, no NaN from garbage', () => {
  const snap = snapshot() as any;
  snap.workers = [];
  snap.load = Number.NaN;
  const text = prometheusText(snap);
  const { type, samples } = parseExposition(text);
  assert.equal(type.get('tsgi_worker_requests_total'), 'counter');
  assert.equal(value(samples, 'tsgi_load'), 0);
  assert.equal(value(samples, 'tsgi_workers'), 0);
  assert.ok(!samples.some((s) => s.name === 'tsgi_worker_requests_total'));
});
