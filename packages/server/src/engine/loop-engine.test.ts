import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Greenlet, GreenletExit, killAll, sleep, spawn } from '@tsgi/hub';
import { setTag } from '@tsgi/hub/internal';
import { LoopEngine } from './loop-engine.js';

const engine = new LoopEngine({
  workerId: 1,
  cores: 1,
  bufferSize: 4096,
  socketTimeout: 4,
  limitPost: 0,
  harakiri: 0,
  backlog: 100,
  multiprocess: false,
  version: 'test',
  sockets: [],
  app: () => [],
  log: { info: () => undefined, error: () => undefined, request: () => undefined, logsRequests: false },
  requestHandle: () => undefined,
});
after(() => engine.dispose());

/** Runs `body` as a request's greenlet would (tagged with its request), until it returns. */
async function asRequest(body: () => unknown): Promise<void> {
  const request = new Greenlet(body);
  setTag(request, { request: true });
  await request.start().get();
}

/** Until the link callbacks of the finished background greenlets have run. */
async function backgroundDone(): Promise<void> {
  while (engine.background.size > 0) await sleep(0.001);
}

describe('LoopEngine background greenlets', () => {
  it('tracks the greenlets a request spawns, also transitively, until they finish; shutdown kills them', async () => {
    const untracked = spawn(() => sleep(60));
    let inner: Greenlet<unknown> | undefined;
    let outer: Greenlet<unknown> | undefined;
    await asRequest(() => {
      outer = spawn(async () => {
        inner = spawn(() => sleep(60));
        await sleep(60);
      });
    });
    await sleep(0.005);
    assert.equal(engine.background.size, 2);
    assert.deepEqual([...engine.background], [outer, inner]);
    assert.ok(engine.background.has(outer!) && !engine.background.has(untracked));
    // What worker-main does at shutdown.
    await killAll([...engine.background], { block: true, timeout: 5 });
    assert.ok(outer!.value instanceof GreenletExit && inner!.value instanceof GreenletExit);
    await backgroundDone();
    assert.deepEqual([...engine.background], []);
    await untracked.kill();
  });

  it('a finished background greenlet keeps nothing alive: churn promotes next to nothing to the old generation', async () => {
    // In a long-lived Set the finished ones (and what they hold: here their value, in a server their
    // request) survived every scavenge until the next full collection: V8 keeps the tables a Set
    // rehashed away, and what they point at, alive through scavenges.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
    const oldSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
    const task = (p: number[]): number[] => p;
    gc();
    gc();
    const before = oldSpaceUsed();
    for (let r = 0; r < 40; r++) {
      await asRequest(() => {
        for (let i = 0; i < 25; i++) spawn(task, new Array<number>(2048).fill(0.5));
      });
      await backgroundDone();
      gc({ type: 'minor' });
    }
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    const promoted = oldSpaceUsed() - before;
    // 1,000 background greenlets, each holding 16 KB as its value: 16 MB went through.
    const through = 40 * 25 * 16_384;
    assert.ok(promoted < through / 4, `the old generation grew by ${promoted} bytes after ${through} went through engine.background`);
  });
});
