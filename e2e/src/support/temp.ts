import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
let hooked = false;

/** A fresh private directory under the OS temp dir, removed when the test process exits. */
export function makeTempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tsgi-e2e-${label}-`));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Removes a directory made by `makeTempDir` now (it is forgotten by the exit hook). */
export function removeTempDir(dir: string): void {
  made.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}
