/**
 * `pnpm bench` in packages/hub (run with --expose-gc). Prints a table and, when TSGI_BENCH_OUT is
 * set, writes the figures as JSON there. Figures, not assertions: nothing here fails on speed.
 */
import { writeFileSync } from 'node:fs';
import { Channel, getHub, joinAll, sleep, spawn, type Greenlet } from '../index.js';

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
}

async function promiseBaseline(n: number): Promise<number> {
  const t0 = performance.now();
  const ps: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = Promise.resolve(i).then((x) => x + 1);
  for (let i = 0; i < n; i++) await ps[i];
  return performance.now() - t0;
}

async function spawnJoin(n: number): Promise<number> {
  const t0 = performance.now();
  const gs: Greenlet<number>[] = new Array(n);
  for (let i = 0; i < n; i++) gs[i] = spawn((x: number) => x + 1, i);
  for (let i = 0; i < n; i++) await gs[i].join();
  return performance.now() - t0;
}

async function sleepingMemory(n: number): Promise<number> {
  await settle();
  const before = process.memoryUsage().heapUsed;
  const gs: Greenlet<void>[] = new Array(n);
  for (let i = 0; i < n; i++) gs[i] = spawn(() => sleep(10));
  // Let every greenlet start and park in its sleep.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  await settle();
  const after = process.memoryUsage().heapUsed;
  if (getHub().pendingTimers < n) throw new Error(`only ${getHub().pendingTimers} of ${n} greenlets are sleeping`);
  for (const g of gs) void g.kill({ block: false });
  await joinAll(gs);
  return (after - before) / n;
}

async function channelPingPong(rounds: number): Promise<number> {
  const ping = new Channel<number>();
  const pong = new Channel<number>();
  const t0 = performance.now();
  const a = spawn(async () => {
    for (let i = 0; i < rounds; i++) {
      await ping.put(i);
      await pong.get();
    }
  });
  const b = spawn(async () => {
    for (let i = 0; i < rounds; i++) await pong.put((await ping.get()) + 1);
  });
  await joinAll([a, b]);
  const seconds = (performance.now() - t0) / 1000;
  // Each round switches a -> b and b -> a.
  return (rounds * 2) / seconds;
}

const N = Number(process.env.TSGI_BENCH_N ?? 1_000_000);
const SLEEPERS = Number(process.env.TSGI_BENCH_SLEEPERS ?? 100_000);
const ROUNDS = Number(process.env.TSGI_BENCH_ROUNDS ?? 200_000);

await promiseBaseline(10_000);
await spawnJoin(10_000);
await settle();
const baselineMs = await promiseBaseline(N);
await settle();
const spawnMs = await spawnJoin(N);
await settle();
const bytesPerSleeper = await sleepingMemory(SLEEPERS);
const switchesPerSecond = await channelPingPong(ROUNDS);

const result = {
  node: process.version,
  gcExposed: gc !== undefined,
  spawnJoin: { count: N, ms: spawnMs, baselinePromiseMs: baselineMs, ratio: spawnMs / baselineMs, goalRatio: 3 },
  sleepingGreenlet: { count: SLEEPERS, bytesPerGreenlet: bytesPerSleeper, goalBytes: 1024 },
  channelPingPong: { rounds: ROUNDS, switchesPerSecond },
};

const rows: Array<[string, string, string]> = [
  [`spawn+join x${N}`, `${spawnMs.toFixed(0)} ms`, `Promise.resolve().then x${N}: ${baselineMs.toFixed(0)} ms`],
  ['  ratio (goal <= 3x)', `${result.spawnJoin.ratio.toFixed(2)}x`, ''],
  [`bytes per greenlet in sleep(10), x${SLEEPERS}`, `${bytesPerSleeper.toFixed(0)} B`, 'goal < 1024 B'],
  ['Channel ping-pong switches/s', `${Math.round(switchesPerSecond).toLocaleString('en')}`, `${ROUNDS} rounds`],
];
console.log(`@tsgi/hub bench on Node ${process.version}${gc ? '' : ' (run with --expose-gc for memory figures)'}`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(44)} ${b.padStart(14)}  ${c}`);
if (process.env.TSGI_BENCH_OUT) writeFileSync(process.env.TSGI_BENCH_OUT, `${JSON.stringify(result, null, 2)}\n`);
