import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Greenlet, GreenletExit, killAll, sleep, spawn } from '@tsgi/hub';
import { setTag } from '@tsgi/hub/internal';
import net from 'node:net';
import { bindHandle } from './listen-handle.js';
import { LoopEngine } from './loop-engine.js';

const engineOptions: ConstructorParameters<typeof LoopEngine>[0] = {
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
};
const engine = new LoopEngine(engineOptions);
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

describe('LoopEngine readiness', () => {
  it('whenListening() waits until the duplicate of every socket has arrived and is listened on; until then a connect is refused', async () => {
    const bound = await bindHandle({ kind: 'tcp', host: '127.0.0.1', port: 0, family: 4, spec: '127.0.0.1:0' });
    const port = (bound.address as { port: number }).port;
    const asked: number[] = [];
    const gated = new LoopEngine({
      ...engineOptions,
      sockets: [{ index: 0, protocol: 'uwsgi', name: `127.0.0.1:${port}`, port }],
      requestHandle: (index) => asked.push(index),
    });
    const connect = (): Promise<string> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
    try {
      gated.start();
      let listening = false;
      const ready = gated.whenListening().then(() => {
        listening = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(listening, false, 'ready before any socket was listened on');
      assert.deepEqual(asked, [0], 'the gate asks the master for its socket');
      assert.equal(await connect(), 'ECONNREFUSED');
      gated.supplyHandle(0, bound.handle);
      await ready;
      assert.equal(await connect(), 'connected');
      await gated.whenListening();
    } finally {
      gated.stopAccepting();
      gated.dispose();
      bound.close();
    }
  });
});
