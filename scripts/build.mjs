#!/usr/bin/env node
// The one build used by every package: esbuild transpiles src/ to dist/ file by file (ESM, node20),
// non-TypeScript files in src/ (fixtures, templates) are copied as they are, and tsc emits the .d.ts files.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = process.cwd();
const src = join(root, 'src');
const dist = join(root, 'dist');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

rmSync(dist, { recursive: true, force: true });
const files = existsSync(src) ? walk(src) : [];
const isTs = (f) => /\.(m?ts)$/.test(f) && !f.endsWith('.d.ts');
const entryPoints = files.filter(isTs);

await build({
  entryPoints,
  outdir: dist,
  outbase: src,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  bundle: false,
  logLevel: 'warning',
  outExtension: { '.js': '.js' },
});

for (const file of files.filter((f) => !isTs(f))) {
  cpSync(file, join(dist, relative(src, file)));
}

if (existsSync(join(root, 'tsconfig.build.json'))) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
