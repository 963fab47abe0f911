// Benchmarks (issue 7): the cost of a patched setTimeout per call, against Node's, inside a
// greenlet; and the overhead of patchAll() on hello-world requests (an in-process HTTP server whose
// handler runs in a greenlet per request), patched against unpatched in the same run.
// JSON goes to $TSGI_BENCH_OUT when set.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from '@tsgi/hub';
import { patchAll, unpatchAll } from '../index.js';

const CALLS = 200_000;

async function timerCost(): Promise<number> {
  return spawn(() => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) clearTimeout(setTimeout(noop, 1000));
    return Number(process.hrtime.bigint() - t0) / CALLS;
  }).get();
}
const noop = (): void => {};

async function helloWorld(seconds: number): Promise<number> {
  const server = http.createServer((req, res) => {
    spawn(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      res.end('Hello World');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const client = async (): Promise<void> => {
    while (performance.now() < until) {
      await one();
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 32 }, client));
  const rps = done / ((performance.now() - t0) / 1000);
  agent.destroy();
  server.close();
  return rps;
}

const rounds = Number(process.env.TSGI_BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.TSGI_BENCH_SECONDS ?? 2);
const result: Record<string, number> = {};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const orig: number[] = [];
const patched: number[] = [];
const plainRps: number[] = [];
const patchedRps: number[] = [];
for (let r = 0; r < rounds; r++) {
  unpatchAll();
  orig.push(await timerCost());
  plainRps.push(await helloWorld(seconds));
  patchAll();
  patched.push(await timerCost());
  patchedRps.push(await helloWorld(seconds));
}
unpatchAll();
result.setTimeoutOriginalNs = median(orig);
result.setTimeoutPatchedNs = median(patched);
result.setTimeoutExtraNs = result.setTimeoutPatchedNs - result.setTimeoutOriginalNs;
result.helloWorldUnpatchedRps = median(plainRps);
result.helloWorldPatchedRps = median(patchedRps);
result.patchAllOverheadPercent = (1 - result.helloWorldPatchedRps / result.helloWorldUnpatchedRps) * 100;
console.log(`setTimeout+clearTimeout in a greenlet: ${result.setTimeoutOriginalNs.toFixed(0)} ns original, ${result.setTimeoutPatchedNs.toFixed(0)} ns patched (+${result.setTimeoutExtraNs.toFixed(0)} ns per call)`);
console.log(`hello world, greenlet per request: ${result.helloWorldUnpatchedRps.toFixed(0)} req/s unpatched, ${result.helloWorldPatchedRps.toFixed(0)} req/s with patchAll() (${result.patchAllOverheadPercent.toFixed(1)}% overhead)`);
if (process.env.TSGI_BENCH_OUT) writeFileSync(process.env.TSGI_BENCH_OUT, `${JSON.stringify({ package: '@tsgi/monkey', ...result }, null, 2)}\n`);
