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

/** A request-like task: it awaits once, then returns. */
async function promiseAsyncBaseline(n: number): Promise<number> {
  const t0 = performance.now();
  const ps: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++)
    ps[i] = Promise.resolve(i).then(async (x) => {
      await null;
      return x + 1;
    });
  for (let i = 0; i < n; i++) await ps[i];
  return performance.now() - t0;
}

async function spawnJoinAsync(n: number): Promise<number> {
  const t0 = performance.now();
  const gs: Greenlet<number>[] = new Array(n);
  for (let i = 0; i < n; i++)
    gs[i] = spawn(async (x: number) => {
      await null;
      return x + 1;
    }, i);
  for (let i = 0; i < n; i++) await gs[i].join();
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs baseline and subject alternately, `rounds` times each, after a GC, and keeps the medians: on
 * a shared machine a single pair of runs can differ by 2x from one run to the next.
 */
async function paired(rounds: number, n: number, baseline: (n: number) => Promise<number>, subject: (n: number) => Promise<number>): Promise<{ baselineMs: number; ms: number; ratio: number }> {
  const b: number[] = [];
  const s: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await settle();
    b.push(await baseline(n));
    await settle();
    s.push(await subject(n));
    r.push(s[i] / b[i]);
  }
  return { baselineMs: median(b), ms: median(s), ratio: median(r) };
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

const ROUNDS_PAIRED = Number(process.env.TSGI_BENCH_PAIRED_ROUNDS ?? 3);

await promiseBaseline(10_000);
await spawnJoin(10_000);
await promiseAsyncBaseline(10_000);
await spawnJoinAsync(10_000);
const sync = await paired(ROUNDS_PAIRED, N, promiseBaseline, spawnJoin);
const asyncOnce = await paired(ROUNDS_PAIRED, N, promiseAsyncBaseline, spawnJoinAsync);
await settle();
const bytesPerSleeper = await sleepingMemory(SLEEPERS);
const switchesPerSecond = await channelPingPong(ROUNDS);

const result = {
  node: process.version,
  gcExposed: gc !== undefined,
  pairedRounds: ROUNDS_PAIRED,
  spawnJoin: { count: N, ms: sync.ms, baselinePromiseMs: sync.baselineMs, ratio: sync.ratio, goalRatio: 3 },
  spawnJoinAwaitOnce: { count: N, ms: asyncOnce.ms, baselinePromiseMs: asyncOnce.baselineMs, ratio: asyncOnce.ratio },
  sleepingGreenlet: { count: SLEEPERS, bytesPerGreenlet: bytesPerSleeper, goalBytes: 1024 },
  channelPingPong: { rounds: ROUNDS, switchesPerSecond },
};

const rows: Array<[string, string, string]> = [
  [`spawn+join x${N}`, `${sync.ms.toFixed(0)} ms`, `Promise.resolve().then x${N}: ${sync.baselineMs.toFixed(0)} ms`],
  ['  ratio (goal <= 3x)', `${sync.ratio.toFixed(2)}x`, `median of ${ROUNDS_PAIRED} paired runs`],
  [`spawn+join, body awaits once, x${N}`, `${asyncOnce.ms.toFixed(0)} ms`, `same task in .then(): ${asyncOnce.baselineMs.toFixed(0)} ms`],
  ['  ratio', `${asyncOnce.ratio.toFixed(2)}x`, `median of ${ROUNDS_PAIRED} paired runs`],
  [`bytes per greenlet in sleep(10), x${SLEEPERS}`, `${bytesPerSleeper.toFixed(0)} B`, 'goal < 1024 B'],
  ['Channel ping-pong switches/s', `${Math.round(switchesPerSecond).toLocaleString('en')}`, `${ROUNDS} rounds`],
];
console.log(`@tsgi/hub bench on Node ${process.version}${gc ? '' : ' (run with --expose-gc for memory figures)'}`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(44)} ${b.padStart(14)}  ${c}`);
if (process.env.TSGI_BENCH_OUT) writeFileSync(process.env.TSGI_BENCH_OUT, `${JSON.stringify(result, null, 2)}\n`);
