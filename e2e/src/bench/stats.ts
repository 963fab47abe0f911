/** Median, min and max of a set of runs, with the samples kept for the JSON report. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize() needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples: [...samples] };
}

/**
 * tsgi's figure against the baseline's, oriented so that above 1 always means tsgi leads: for a
 * higher-is-better metric tsgi / baseline, for a lower-is-better one baseline / tsgi.
 */
export function ratio(tsgi: number, baseline: number, better: 'higher' | 'lower'): number {
  return better === 'higher' ? tsgi / baseline : baseline / tsgi;
}

/** A figure with 3 significant digits, thousands grouped (12,345 / 98.7 / 0.123). */
export function formatFigure(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}
