import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignalSources, type SignalSourceSpec } from './signal-sources.js';
import { FakeClock } from './test-support/fake-clock.js';

function setup(start = 0) {
  const clock = new FakeClock(start);
  const raised: { num: number; at: number; origin: string }[] = [];
  const logs: string[] = [];
  const sources = new SignalSources({
    clock,
    log: (line) => logs.push(line),
    raise: (num, origin) => raised.push({ num, at: clock.now(), origin }),
  });
  return { clock, raised, logs, sources };
}

test('addTimer fires at its period, on the grid, until closed', () => {
  const { clock, raised, sources } = setup(1_000);
  sources.add({ kind: 'timer', num: 17, seconds: 2 });
  clock.advance(1_999);
  assert.equal(raised.length, 0);
  clock.advance(1);
  assert.deepEqual(raised.map((r) => r.at), [3_000]);
  clock.advance(6_000);
  assert.deepEqual(raised.map((r) => r.at), [3_000, 5_000, 7_000, 9_000]);
  assert.equal(raised[0]!.origin, 'timer 17 every 2s');
  sources.close();
  clock.advance(10_000);
  assert.equal(raised.length, 4);
  assert.equal(clock.pending, 0);
});

test('ms timers fire at their period in milliseconds', () => {
  const { clock, raised, sources } = setup();
  sources.add({ kind: 'ms-timer', num: 3, ms: 250 });
  clock.advance(1_000);
  assert.deepEqual(raised.map((r) => r.at), [250, 500, 750, 1_000]);
  sources.close();
});

test('rb timers fire `iterations` times, 0 = forever', () => {
  const { clock, raised, sources } = setup();
  sources.add({ kind: 'rb-timer', num: 4, seconds: 1, iterations: 3 });
  sources.add({ kind: 'rb-timer', num: 5, seconds: 1, iterations: 0 });
  clock.advance(10_000);
  assert.equal(raised.filter((r) => r.num === 4).length, 3);
  assert.equal(raised.filter((r) => r.num === 5).length, 10);
  const done = sources.list().find((s) => s.spec.num === 4)!;
  assert.equal(done.armed, false);
  assert.equal(done.fired, 3);
  // A finished rb-timer keeps its key: adding it again (a respawned worker re-importing the app) does not restart it.
  assert.equal(sources.add({ kind: 'rb-timer', num: 4, seconds: 1, iterations: 3 }).added, false);
  sources.close();
});

test('identical sources added by several workers are one source (uWSGI #783)', () => {
  const { clock, raised, sources } = setup();
  const results = [1, 2, 3, 4].map(() => sources.add({ kind: 'timer', num: 9, seconds: 1 }));
  assert.deepEqual(results.map((r) => r.added), [true, false, false, false]);
  assert.equal(sources.count('timers'), 1);
  clock.advance(3_000);
  assert.equal(raised.length, 3);
  // A different period is a different timer.
  assert.equal(sources.add({ kind: 'timer', num: 9, seconds: 2 }).added, true);
  assert.equal(sources.count('timers'), 2);
  sources.close();
});

test('limits: 64 timers (ms timers included), 64 rb-timers, 64 crons, each over-limit call a clear error', () => {
  const { logs, sources } = setup();
  for (let i = 0; i < 32; i++) sources.add({ kind: 'timer', num: i, seconds: 1 });
  for (let i = 0; i < 32; i++) sources.add({ kind: 'ms-timer', num: i, ms: 100 });
  assert.throws(
    () => sources.add({ kind: 'timer', num: 200, seconds: 1 }),
    (err: { code?: string; message: string }) =>
      err.code === 'TSGI_ERR_SIGNAL_LIMIT' && err.message.includes('you can register max 64 timers !!!'),
  );
  assert.ok(logs.includes('you can register max 64 timers !!!'));
  // An identical timer is still accepted at the limit: it is not a new one.
  assert.equal(sources.add({ kind: 'timer', num: 0, seconds: 1 }).added, false);
  for (let i = 0; i < 64; i++) sources.add({ kind: 'rb-timer', num: i, seconds: 1, iterations: 0 });
  assert.throws(() => sources.add({ kind: 'rb-timer', num: 99, seconds: 1, iterations: 0 }), /max 64 rb_timers/);
  for (let i = 0; i < 64; i++) sources.add({ kind: 'cron', num: i, minute: -1, hour: -1, day: -1, month: -1, weekday: -1 });
  assert.throws(() => sources.add({ kind: 'cron', num: 99, minute: 0, hour: -1, day: -1, month: -1, weekday: -1 }), /max 64 cron/);
  sources.close();
});

test('file monitors are limited to 64', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-signals-limit-'));
  const { sources } = setup();
  t.after(() => {
    sources.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 64; i++) sources.add({ kind: 'file', num: i, path: dir });
  assert.throws(
    () => sources.add({ kind: 'file', num: 64, path: dir }),
    (err: { code?: string; message: string }) => err.code === 'TSGI_ERR_SIGNAL_LIMIT' && /max 64 file monitors/.test(err.message),
  );
});

test('invalid parameters are refused with TSGI_ERR_SIGNAL_SOURCE_INVALID', () => {
  const { sources } = setup();
  const bad: SignalSourceSpec[] = [
    { kind: 'timer', num: 1, seconds: 0 },
    { kind: 'timer', num: 1, seconds: -1 },
    { kind: 'ms-timer', num: 1, ms: Number.NaN },
    { kind: 'rb-timer', num: 1, seconds: 1, iterations: -1 },
    { kind: 'cron', num: 1, minute: 61, hour: -1, day: -1, month: -1, weekday: -1 },
    { kind: 'file', num: 1, path: '' },
    { kind: 'nope', num: 1 } as never,
  ];
  for (const spec of bad) {
    assert.throws(() => sources.add(spec), (err: { code?: string }) => err.code === 'TSGI_ERR_SIGNAL_SOURCE_INVALID', JSON.stringify(spec));
  }
  assert.throws(() => sources.add({ kind: 'timer', num: 300, seconds: 1 }), (err: { code?: string }) => err.code === 'TSGI_ERR_SIGNAL_NUMBER');
  sources.close();
});

test('cron fires at matching local minutes, at most once a minute', () => {
  const start = new Date(2026, 2, 18, 6, 0, 30).getTime(); // Wednesday 06:00:30 local
  const { clock, raised, logs, sources } = setup(start);
  sources.add({ kind: 'cron', num: 8, minute: -15, hour: -1, day: -1, month: -1, weekday: -1 });
  sources.add({ kind: 'cron', num: 9, minute: 30, hour: 7, day: 1, month: -1, weekday: 3 }); // day 1 OR Wednesday
  clock.advance(2 * 60 * 60_000);
  const fired8 = raised.filter((r) => r.num === 8).map((r) => new Date(r.at));
  assert.deepEqual(
    fired8.map((d) => `${d.getHours()}:${d.getMinutes()}`),
    ['6:15', '6:30', '6:45', '7:0', '7:15', '7:30', '7:45', '8:0'],
  );
  const fired9 = raised.filter((r) => r.num === 9).map((r) => new Date(r.at));
  assert.deepEqual(fired9.map((d) => `${d.getHours()}:${d.getMinutes()}`), ['7:30']);
  assert.ok(logs.includes('[uwsgi-cron] routing signal 9'));
  sources.close();
});

test('file monitor fires when an existing file is touched, and on directory changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-signals-fmon-'));
  const file = join(dir, 'reload.txt');
  writeFileSync(file, 'x');
  let onRaise: ((num: number) => void) | undefined;
  const sources = new SignalSources({ raise: (num) => onRaise?.(num), log: () => {} });
  t.after(() => {
    sources.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const next = (num: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`signal ${num} not raised within 10 s`)), 10_000);
      onRaise = (n) => {
        if (n === num) {
          clearTimeout(timer);
          onRaise = undefined;
          resolve();
        }
      };
    });
  sources.add({ kind: 'file', num: 21, path: file });
  sources.add({ kind: 'file', num: 22, path: dir });

  const touched = next(21);
  const now = new Date();
  utimesSync(file, now, now); // what `touch` does to an existing file
  await touched;

  const created = next(22);
  writeFileSync(join(dir, 'new-entry'), 'y');
  await created;

  // Replaced by a rename (an editor's atomic save): the monitor follows the path.
  const replacedAndTouched = next(21);
  writeFileSync(join(dir, 'tmp'), 'z');
  renameSync(join(dir, 'tmp'), file);
  await replacedAndTouched;
  // The watch re-arms on the new file a loop turn later; touch until it reports, bounded by next()'s 10 s.
  const afterReplace = next(21);
  let stop = false;
  afterReplace.then(
    () => (stop = true),
    () => (stop = true),
  );
  (async () => {
    for (let i = 1; !stop; i++) {
      const when = new Date(Date.now() + i * 1_000);
      utimesSync(file, when, when);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await afterReplace;
});

test('a file monitor on a missing path is refused', () => {
  const { sources } = setup();
  assert.throws(
    () => sources.add({ kind: 'file', num: 1, path: join(tmpdir(), 'tsgi-does-not-exist-' + process.pid) }),
    (err: { code?: string }) => err.code === 'TSGI_ERR_SIGNAL_FILE_MONITOR',
  );
});
