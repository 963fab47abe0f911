import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { humanDuration, humanSize, renderTopFrame } from './top-frame.js';

const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const AT = 1_700_000_500_000;

function row(frame: string, wid: number): string[] {
  const line = frame.split('\n').find((l) => new RegExp(`^\\s*${wid}\\s`).test(l));
  assert.ok(line, `no row for worker ${wid} in\n${frame}`);
  return line.trim().split(/\s+/);
}

function header(frame: string): string[] {
  return frame.split('\n').find((l) => /^\s*WID\s+%/.test(l))!.trim().split(/\s+/);
}

function cell(frame: string, wid: number, column: string): string {
  return row(frame, wid)[header(frame).indexOf(column)];
}

test('a frame of a tsgi document: header, one row per worker with tsgi extras, requests in flight', () => {
  const frame = renderTopFrame({ doc: fixture('tsgi-stats-document.json'), at: AT }, { address: '127.0.0.1:1717' });
  const [first, second] = frame.split('\n');
  assert.equal(first, 'tsgi-0.1.0 @ 127.0.0.1:1717 - 2023-11-14 22:21:40Z - req: 200 - RPS: - - lq: 3 - tx: 39.1K');
  assert.equal(second, 'master pid: 4242 - workers: 2 (1 busy) - cores: 1/8 busy - load: 1 - cwd: /srv/app');
  assert.deepEqual(header(frame), ['WID', '%', 'PID', 'STATUS', 'REQ', 'RPS', 'EXC', 'SIG', 'AVG', 'RSS', 'VSZ', 'TX', 'RESP', 'HARA', 'UP', 'BG', 'WAIT', 'CORES']);
  assert.deepEqual(row(frame, 1), ['1', '60.0', '4243', 'busy', '120', '-', '2', '5', '50ms', '50.0M', '1.0G', '23.4K', '1', '1', '8m20s', '7', '2', '1/4']);
  assert.equal(cell(frame, 2, 'STATUS'), 'idle');
  assert.equal(cell(frame, 2, 'AVG'), '38ms');
  assert.equal(cell(frame, 2, 'CORES'), '0/4');
  assert.match(frame, /requests in flight: 1\n\s*WID\s+CORE\s+AGE\s+REMOTE\s+METHOD\s+URI\n\s*1\s+2\s+3s\s+10\.0\.0\.7\s+GET\s+\/slow\?x=1\n/);
});

test('req/s comes from the requests delta between two samples; a respawned worker counts from 0', () => {
  const before = fixture('tsgi-stats-document.json');
  const after = fixture('tsgi-stats-document.json');
  after.workers[0].requests += 50;
  after.workers[1].requests = 10; // respawned since the previous sample
  const frame = renderTopFrame({ doc: after, at: AT + 2000 }, { address: 'a', previous: { doc: before, at: AT } });
  assert.equal(cell(frame, 1, 'RPS'), '25.0');
  assert.equal(cell(frame, 2, 'RPS'), '5.0');
  assert.match(frame.split('\n')[0], / - RPS: 30\.0 - /);
});

test('a frame of real uWSGI 2.0.21 stats: tsgi-only figures show "-", its busy cores are listed', () => {
  const sample = fixture('uwsgi-2.0.21-stats-sample.json');
  const frame = renderTopFrame({ doc: sample, at: 1795537205_000 }, { address: '127.0.0.1:19010', maxRequests: 3 });
  assert.match(frame.split('\n')[0], /^uwsgi-2\.0\.21-debian @ 127\.0\.0\.1:19010 - .* - req: 2 - RPS: - - lq: 0 - tx: 140$/);
  assert.match(frame, /cores: 5\/100 busy/);
  assert.equal(cell(frame, 1, 'PID'), '15789');
  assert.equal(cell(frame, 1, 'STATUS'), 'busy');
  assert.equal(cell(frame, 1, 'AVG'), '751ms');
  assert.equal(cell(frame, 1, 'BG'), '-');
  assert.equal(cell(frame, 1, 'WAIT'), '-');
  assert.equal(cell(frame, 1, 'CORES'), '5/100');
  assert.match(frame, /requests in flight: 5\n/);
  assert.match(frame, /^\s*1\s+95\s+2s\s+127\.0\.0\.1\s+GET\s+\/inflight$/m);
  assert.match(frame, /\.\.\. and 2 more\n$/);
});

test('width cuts lines; ansi reverses the column header; garbage documents render without throwing', () => {
  const frame = renderTopFrame({ doc: fixture('tsgi-stats-document.json'), at: AT }, { address: 'x', width: 40, ansi: true });
  for (const line of frame.split('\n')) assert.ok(line.replace(/\x1b\[[0-9;]*m/g, '').length <= 40, line);
  assert.match(frame, /\x1b\[7m\s*WID/);
  const empty = renderTopFrame({ doc: { workers: 'nope', version: 7 }, at: AT }, { address: 'x' });
  assert.match(empty, /^uwsgi @ x - .* - req: 0 - RPS: - - lq: 0 - tx: 0\n/);
  assert.match(empty, /\(no workers reported\)/);
  const odd = renderTopFrame({ doc: { workers: [null, { id: 'a', cores: [{ in_request: 1, vars: [1, 'REQUEST_URI=/z'] }] }] }, at: AT }, { address: 'x' });
  assert.match(odd, /\/z/);
});

test('sizes and durations as top shows them', () => {
  assert.equal(humanSize(512), '512');
  assert.equal(humanSize(1536), '1.5K');
  assert.equal(humanSize(52428800), '50.0M');
  assert.equal(humanDuration(45), '45s');
  assert.equal(humanDuration(723), '12m03s');
  assert.equal(humanDuration(5 * 3600 + 120), '5h02m');
  assert.equal(humanDuration(3 * 86400 + 4 * 3600), '3d04h');
});
