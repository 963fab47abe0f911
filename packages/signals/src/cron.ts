import { SignalError } from './errors.js';

/**
 * uWSGI's signal cron fields. Each is a value, -1 for "every" (`*`), or -N for "every N" (`*\/N`,
 * matched as `field % N == 0`). Weekday 7 is Sunday, as 0.
 */
export interface CronSpec {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

/** Local calendar fields of a moment, in crontab's ranges (month 1-12, weekday 0-6 with 0 = Sunday). */
export interface CronFields {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

export function cronFieldsOf(date: Date): CronFields {
  return {
    minute: date.getMinutes(),
    hour: date.getHours(),
    day: date.getDate(),
    month: date.getMonth() + 1,
    weekday: date.getDay(),
  };
}

const RANGES: Record<keyof CronSpec, [number, number]> = {
  minute: [0, 59],
  hour: [0, 23],
  day: [1, 31],
  month: [1, 12],
  weekday: [0, 7],
};

/** Throws TSGI_ERR_SIGNAL_SOURCE_INVALID for a field that could never match (uWSGI accepts it silently and never fires). */
export function validateCronSpec(spec: CronSpec): void {
  for (const key of Object.keys(RANGES) as (keyof CronSpec)[]) {
    const v = spec[key];
    const [lo, hi] = RANGES[key];
    if (!Number.isInteger(v) || (v >= 0 && (v < lo || v > hi))) {
      throw new SignalError(
        'TSGI_ERR_SIGNAL_SOURCE_INVALID',
        `unable to add cron: ${key} ${String(v)} is out of range (use ${lo}-${hi}, -1 for every ${key}, or -N for every N)`,
      );
    }
  }
}

function fieldMatches(spec: number, value: number): boolean {
  if (spec < 0) return value % -spec === 0;
  return spec === value;
}

/**
 * uWSGI's `uwsgi_cron_task_needs_execution`: minute, hour and month must match; when day and weekday
 * are both set (>= 0) either may match, as in crontab; otherwise both must.
 */
export function cronMatches(spec: CronSpec, at: CronFields): boolean {
  const weekday = spec.weekday === 7 ? 0 : spec.weekday;
  if (!fieldMatches(spec.minute, at.minute) || !fieldMatches(spec.hour, at.hour) || !fieldMatches(spec.month, at.month)) {
    return false;
  }
  const dayOk = fieldMatches(spec.day, at.day);
  const weekdayOk = fieldMatches(weekday, at.weekday);
  if (spec.day >= 0 && spec.weekday >= 0) return dayOk || weekdayOk;
  return dayOk && weekdayOk;
}
