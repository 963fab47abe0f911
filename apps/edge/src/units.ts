import { EdgeConfigError } from './errors.js';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = {
  ms: 0.001,
  '': 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  M: 2592000,
  y: 31536000,
};

/** nginx's size syntax: `512`, `4k`, `8K`, `1m`, `1g` → bytes. Numbers are taken as bytes. */
export function parseSize(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*([kKmMgG]?)\s*$/.exec(value);
    if (m) return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  }
  throw new EdgeConfigError(key, `expected a size such as 4096, "4k", "1m" or "1g", got ${JSON.stringify(value)}`);
}

/**
 * nginx's time syntax: `60s`, `1m30s`, `500ms`, `2h`; a bare number is seconds (as nginx and uWSGI).
 * Returns seconds.
 */
export function parseTime(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    let rest = value.trim();
    let total = 0;
    while (rest.length > 0) {
      const m = /^(\d+(?:\.\d+)?)(ms|[smhdwMy]?)\s*/.exec(rest);
      if (!m) break;
      total += Number(m[1]) * TIME_UNITS[m[2]];
      rest = rest.slice(m[0].length);
    }
    if (rest.length === 0) return total;
  }
  throw new EdgeConfigError(key, `expected a time such as 60, "60s", "500ms", "1m30s", got ${JSON.stringify(value)}`);
}

/** nginx's `buffers` syntax: `"8 4k"` → { count: 8, size: 4096 }. */
export function parseBuffers(value: unknown, key: string): { count: number; size: number } {
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(value);
    if (m && Number(m[1]) >= 1) return { count: Number(m[1]), size: parseSize(m[2], key) };
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as { count?: unknown; size?: unknown };
    if (typeof v.count === 'number' && Number.isSafeInteger(v.count) && v.count >= 1) {
      return { count: v.count, size: parseSize(v.size, `${key}.size`) };
    }
  }
  throw new EdgeConfigError(key, `expected "<number> <size>" such as "8 4k", got ${JSON.stringify(value)}`);
}

/** Parses `on`/`off` (and booleans), as nginx flags. */
export function parseFlag(value: unknown, key: string): boolean {
  if (value === true || value === 'on' || value === 'yes' || value === 'true') return true;
  if (value === false || value === 'off' || value === 'no' || value === 'false') return false;
  throw new EdgeConfigError(key, `expected on or off, got ${JSON.stringify(value)}`);
}
