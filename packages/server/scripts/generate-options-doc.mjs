#!/usr/bin/env node
// Writes docs/options.md from the built option table (run `node ../../scripts/build.mjs` in packages/server first).
// A unit test (src/config/help.test.ts) fails when the committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatOptionsMarkdown } from '../dist/config/help.js';

const target = fileURLToPath(new URL('../../../docs/options.md', import.meta.url));
writeFileSync(target, formatOptionsMarkdown());
console.log(`wrote ${target}`);
