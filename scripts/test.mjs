#!/usr/bin/env node
// Runs a package's compiled node:test files (dist/**/*.test.js). Node 20 has no glob support in
// `node --test`, so the files are listed here. Extra arguments are passed to node (e.g. --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dist = join(process.cwd(), 'dist');
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
const only = process.env.TSGI_TEST_FILES ? new RegExp(process.env.TSGI_TEST_FILES) : null;
const files = (existsSync(dist) ? walk(dist) : [])
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => !only || only.test(f))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${dist}`);
  process.exit(1);
}
const args = ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-timeout=300000', ...process.argv.slice(2), ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
