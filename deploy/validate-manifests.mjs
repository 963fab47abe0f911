#!/usr/bin/env node
// Checks Kubernetes manifests offline, at `kubectl apply --dry-run=client --validate=strict` level:
//   node deploy/validate-manifests.mjs                 # every deploy/kubernetes/*.yaml
//   node deploy/validate-manifests.mjs my/app.yaml ... # your own files
// Uses the e2e package's checker (build it first: `npx pnpm@10 --filter @tsgi/e2e build`).
// Exit code 0 when every document passes, 1 when one does not (each problem printed), 2 when unbuilt.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const checker = join(here, '..', 'e2e', 'dist', 'scale-out', 'kubernetes-manifests.js');
if (!existsSync(checker)) {
  console.error(`the checker is not built (${checker} is missing): run \`npx --yes pnpm@10 --filter @tsgi/e2e build\``);
  process.exit(2);
}
const { readManifests, validateManifests, formatProblems } = await import(pathToFileURL(checker).href);
const dir = join(here, 'kubernetes');
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f));
const { documents, problems } = readManifests(files);
problems.push(...(await validateManifests(documents)));
if (problems.length) {
  console.error(formatProblems(problems));
  process.exit(1);
}
console.log(`${documents.length} documents in ${files.length} files: valid (${documents.map((d) => d.value.kind).join(', ')})`);
