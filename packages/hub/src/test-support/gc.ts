import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type: 'minor' | 'major' }) => void;
let gcFunction: Gc | null = null;

/** V8's gc(), without starting the test runner with --expose-gc. */
export function exposeGc(): Gc {
  if (gcFunction === null) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as Gc;
  }
  return gcFunction;
}

const oldSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;

/** 16 KB in the young generation, for a greenlet's argument. */
export const PAYLOAD_BYTES = 16_384;
export const payload = (): number[] => new Array<number>(PAYLOAD_BYTES / 8).fill(0.5);

/**
 * Bytes the old generation grew by while `round` ran `rounds` times with a scavenge after each, as
 * under load; the collection under test is put in the old generation first (full collections) and
 * the survivors of the last round get two more scavenges. Each round should pass greenlets carrying
 * a `payload()` through the collection, done with them before the round's scavenge. WeakRefs cannot
 * tell: on Node 20 a scavenge keeps every WeakRef target.
 */
export async function promotedByRounds(round: (r: number) => unknown, rounds = 40): Promise<number> {
  const gc = exposeGc();
  gc();
  gc();
  const before = oldSpaceUsed();
  for (let r = 0; r < rounds; r++) {
    await round(r);
    gc({ type: 'minor' });
  }
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  return oldSpaceUsed() - before;
}
