import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, REPO_ROOT, startProcess } from '../support/index.js';

/** A workspace package that has a `bench` script. */
export interface MicroPackage {
  name: string;
  dir: string;
}

export interface MicroResult {
  package: string;
  status: 'ok' | 'failed';
  /** Seconds it took. */
  elapsed: number;
  /** The JSON the package wrote to $TSGI_BENCH_OUT, as it wrote it. */
  data?: unknown;
  /** Every numeric or text leaf of `data`, as `path = value` rows for the tables. */
  rows: { key: string; value: number | string }[];
  note?: string;
}

/** Packages under packages/ and apps/ whose package.json has a `bench` script. */
export function findMicroPackages(root = REPO_ROOT): MicroPackage[] {
  const found: MicroPackage[] = [];
  for (const group of ['packages', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base).sort()) {
      const manifest = join(base, entry, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; scripts?: Record<string, string> };
      if (pkg.scripts?.bench) found.push({ name: pkg.name ?? `${group}/${entry}`, dir: join(base, entry) });
    }
  }
  return found;
}

/**
 * Flattens a package's bench JSON into rows. Formats differ between packages, so every leaf is kept
 * with its path (`results[0].opsPerSec`), or `name: metric` when array items carry a `name`.
 */
export function flattenBenchJson(data: unknown, limit = 60): { key: string; value: number | string }[] {
  const rows: { key: string; value: number | string }[] = [];
  const walk = (value: unknown, path: string): void => {
    if (rows.length >= limit) return;
    if (typeof value === 'number' || typeof value === 'string') {
      rows.push({ key: path || '(value)', value });
    } else if (typeof value === 'boolean') {
      rows.push({ key: path, value: String(value) });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        const named = item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : undefined;
        if (named) {
          const { name: _name, ...rest } = item as Record<string, unknown>;
          walk(rest, path ? `${path}.${named}` : named);
        } else {
          walk(item, `${path}[${i}]`);
        }
      });
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    }
  };
  walk(data, '');
  return rows;
}

/** Runs `npm run bench` in the package with TSGI_BENCH_OUT set, and reads back what it wrote. */
export async function runMicroBench(pkg: MicroPackage, options: { quick: boolean; timeout: number }): Promise<MicroResult> {
  const started = performance.now();
  const out = join(makeTempDir('micro'), 'bench.json');
  const env = { ...process.env, TSGI_BENCH_OUT: out, ...(options.quick ? { TSGI_BENCH_QUICK: '1' } : {}) };
  const elapsed = (): number => (performance.now() - started) / 1000;
  const proc = await startProcess('npm', ['run', '--silent', 'bench'], { cwd: pkg.dir, env, name: `${pkg.name} bench` });
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([proc.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), options.timeout * 1000)))]);
  clearTimeout(timer);
  if (!exit) {
    await proc.stop('SIGKILL');
    return { package: pkg.name, status: 'failed', elapsed: elapsed(), rows: [], note: `did not finish within ${options.timeout} s` };
  }
  if (exit.code !== 0) {
    // The first error line says more than Node's trailing version banner.
    const lines = proc.output().split('\n').map((l) => l.trim()).filter(Boolean);
    const tail = lines.find((l) => /Error|error:/.test(l)) ?? lines.slice(-3).join(' / ');
    return { package: pkg.name, status: 'failed', elapsed: elapsed(), rows: [], note: `bench script exited with ${exit.code ?? exit.signal}: ${tail}` };
  }
  if (!existsSync(out)) {
    return { package: pkg.name, status: 'failed', elapsed: elapsed(), rows: [], note: 'the bench script wrote nothing to $TSGI_BENCH_OUT' };
  }
  try {
    const data = JSON.parse(readFileSync(out, 'utf8')) as unknown;
    return { package: pkg.name, status: 'ok', elapsed: elapsed(), data, rows: flattenBenchJson(data) };
  } catch (err) {
    return { package: pkg.name, status: 'failed', elapsed: elapsed(), rows: [], note: `$TSGI_BENCH_OUT is not JSON: ${(err as Error).message}` };
  }
}
