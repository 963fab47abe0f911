import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cronFieldsOf, cronMatches, validateCronSpec, type CronFields, type CronSpec } from './cron.js';

const spec = (minute: number, hour: number, day: number, month: number, weekday: number): CronSpec => ({ minute, hour, day, month, weekday });
// Wednesday 2026-03-18 06:30 → weekday 3
const at = (minute: number, hour: number, day: number, month: number, weekday: number): CronFields => ({ minute, hour, day, month, weekday });

const cases: [string, CronSpec, CronFields, boolean][] = [
  ['all -1 matches anything', spec(-1, -1, -1, -1, -1), at(37, 13, 9, 11, 2), true],
  ['exact minute', spec(30, -1, -1, -1, -1), at(30, 6, 18, 3, 3), true],
  ['exact minute, other minute', spec(30, -1, -1, -1, -1), at(31, 6, 18, 3, 3), false],
  ['-5 = every 5 minutes (0)', spec(-5, -1, -1, -1, -1), at(0, 6, 18, 3, 3), true],
  ['-5 = every 5 minutes (35)', spec(-5, -1, -1, -1, -1), at(35, 6, 18, 3, 3), true],
  ['-5 = every 5 minutes (36)', spec(-5, -1, -1, -1, -1), at(36, 6, 18, 3, 3), false],
  ['-15 minutes at 45', spec(-15, -1, -1, -1, -1), at(45, 0, 1, 1, 4), true],
  ['-2 hours: even hours', spec(0, -2, -1, -1, -1), at(0, 14, 1, 1, 4), true],
  ['-2 hours: odd hour', spec(0, -2, -1, -1, -1), at(0, 13, 1, 1, 4), false],
  ['-3 months: 3,6,9,12 (modulo on 1-12)', spec(0, 0, 1, -3, -1), at(0, 0, 1, 6, 1), true],
  ['-3 months: not 1', spec(0, 0, 1, -3, -1), at(0, 0, 1, 1, 4), false],
  ['-2 days: even day of month', spec(0, 0, -2, -1, -1), at(0, 0, 18, 3, 3), true],
  ['-2 days: odd day of month', spec(0, 0, -2, -1, -1), at(0, 0, 17, 3, 2), false],
  ['-2 weekdays: 0,2,4,6', spec(0, 0, -1, -1, -2), at(0, 0, 17, 3, 2), true],
  ['-2 weekdays: 3', spec(0, 0, -1, -1, -2), at(0, 0, 18, 3, 3), false],
  ['day and weekday both set: OR, day matches', spec(0, 9, 18, -1, 1), at(0, 9, 18, 3, 3), true],
  ['day and weekday both set: OR, weekday matches', spec(0, 9, 1, -1, 3), at(0, 9, 18, 3, 3), true],
  ['day and weekday both set: neither', spec(0, 9, 1, -1, 1), at(0, 9, 18, 3, 3), false],
  ['day set, weekday every: AND', spec(0, 9, 18, -1, -1), at(0, 9, 18, 3, 3), true],
  ['day set, weekday every: day differs', spec(0, 9, 1, -1, -1), at(0, 9, 18, 3, 3), false],
  ['weekday set, day every: AND', spec(0, 9, -1, -1, 3), at(0, 9, 18, 3, 3), true],
  ['weekday set, day every: weekday differs', spec(0, 9, -1, -1, 4), at(0, 9, 18, 3, 3), false],
  ['weekday 7 is Sunday', spec(-1, -1, -1, -1, 7), at(0, 0, 22, 3, 0), true],
  ['weekday 0 is Sunday', spec(-1, -1, -1, -1, 0), at(0, 0, 22, 3, 0), true],
  ['weekday 7 does not match Monday', spec(-1, -1, -1, -1, 7), at(0, 0, 23, 3, 1), false],
  ['day -N with weekday set: still AND (OR only when both >= 0)', spec(0, 0, -2, -1, 3), at(0, 0, 17, 3, 3), false],
  ['month must match', spec(0, 0, -1, 4, -1), at(0, 0, 1, 3, 0), false],
];

for (const [name, s, f, expected] of cases) {
  test(`cron: ${name}`, () => assert.equal(cronMatches(s, f), expected));
}

test('cronFieldsOf reads local time with month 1-12 and Sunday = 0', () => {
  const d = new Date(2026, 2, 22, 7, 5); // Sunday 22 March 2026, 07:05 local
  assert.deepEqual(cronFieldsOf(d), { minute: 5, hour: 7, day: 22, month: 3, weekday: 0 });
});

test('validateCronSpec refuses fields that could never match', () => {
  assert.doesNotThrow(() => validateCronSpec(spec(59, 23, 31, 12, 7)));
  assert.doesNotThrow(() => validateCronSpec(spec(-5, -2, -1, -3, -1)));
  for (const bad of [spec(60, 0, 1, 1, 0), spec(0, 24, 1, 1, 0), spec(0, 0, 0, 1, 0), spec(0, 0, 32, 1, 0), spec(0, 0, 1, 13, 0), spec(0, 0, 1, 0, 0), spec(0, 0, 1, 1, 8), spec(1.5, 0, 1, 1, 0)]) {
    assert.throws(() => validateCronSpec(bad), (err: { code?: string }) => err.code === 'TSGI_ERR_SIGNAL_SOURCE_INVALID');
  }
});
