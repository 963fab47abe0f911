#!/usr/bin/env node
// `pnpm bench` builds everything, then runs this: the bench harness compiled in e2e/dist/bench/.
// It builds nothing itself. Arguments are passed on (--quick, --runs N, --only REGEX, --no-micro).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const harness = join(root, 'e2e', 'dist', 'bench', 'run-bench.js');
if (!existsSync(harness)) {
  console.error(`bench: ${harness} is missing; build first (pnpm bench builds, or: cd e2e && node ../scripts/build.mjs)`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--enable-source-maps', harness, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
