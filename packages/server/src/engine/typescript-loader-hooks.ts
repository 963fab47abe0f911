/**
 * Module loader hooks (registered with `module.register`) that let a worker import a TypeScript app
 * without a build step: `.ts`/`.mts`/`.cts` files are transpiled by esbuild as they load, and a
 * relative `./x.js` import that only exists as `./x.ts` (TypeScript's NodeNext convention) resolves
 * to it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;
type LoadResult = { format: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean };
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

const TS_FILE = /\.(ts|mts|cts|tsx)$/;

function tsAlternatives(specifier: string): string[] {
  if (/\.(js|mjs|cjs)$/.test(specifier)) return [specifier.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts')];
  if (!/\.[a-z]+$/i.test(specifier)) return [`${specifier}.ts`, `${specifier}.mts`, `${specifier}/index.ts`];
  return [];
}

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: NextResolve): Promise<ResolveResult> {
  const relative = specifier.startsWith('./') || specifier.startsWith('../');
  if (relative && context.parentURL?.startsWith('file:') && TS_FILE.test(context.parentURL)) {
    for (const candidate of tsAlternatives(specifier)) {
      const url = new URL(candidate, context.parentURL);
      if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:') || !TS_FILE.test(new URL(url).pathname)) return nextLoad(url, context);
  const raw = await nextLoad(url, { ...(context as object), format: 'module' });
  const source = typeof raw.source === 'string' ? raw.source : Buffer.from(raw.source as Uint8Array).toString('utf8');
  const format = url.endsWith('.cts') ? 'cjs' : 'esm';
  const result = await transform(source, {
    loader: url.endsWith('x') ? 'tsx' : 'ts',
    format,
    target: 'node20',
    sourcefile: fileURLToPath(url),
    sourcemap: 'inline',
  });
  return { format: format === 'cjs' ? 'commonjs' : 'module', source: result.code, shortCircuit: true };
}
