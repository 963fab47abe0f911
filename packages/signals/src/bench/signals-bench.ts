// Signals through the in-process transport: throughput of one worker raising a `workers` signal to N
// receivers, and the delay from signal() to the handler's start (p50/p99). JSON to $TSGI_BENCH_OUT when set.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Event, spawn } from '@tsgi/hub';
import { createInProcessSignals } from '../in-process.js';

const RECEIVERS = [1, 4, 16];
const SIGNALS = Number(process.env.TSGI_BENCH_SIGNALS ?? 50_000);
const BATCH = 512;
const LATENCY_SAMPLES = Number(process.env.TSGI_BENCH_LATENCY_SAMPLES ?? 5_000);

async function throughput(receivers: number): Promise<{ receivers: number; raised: number; handled: number; seconds: number; deliveriesPerSecond: number; raisesPerSecond: number }> {
  const sig = createInProcessSignals({ workers: receivers, queueSize: BATCH * 2, log: () => {} });
  let handled = 0;
  let batchDone = new Event();
  let target = 0;
  for (const w of sig.workers) {
    w.api.registerSignal(1, 'workers', () => {
      if (++handled >= target) batchDone.set();
    });
  }
  const start = performance.now();
  const raiser = spawn(async () => {
    for (let sent = 0; sent < SIGNALS; sent += BATCH) {
      const n = Math.min(BATCH, SIGNALS - sent);
      target = handled + n * receivers;
      batchDone = new Event();
      for (let i = 0; i < n; i++) void sig.workers[0]!.api.signal(1);
      await batchDone.wait();
    }
  });
  await raiser.get();
  const seconds = (performance.now() - start) / 1000;
  await sig.close();
  return {
    receivers,
    raised: SIGNALS,
    handled,
    seconds: round(seconds),
    deliveriesPerSecond: Math.round(handled / seconds),
    raisesPerSecond: Math.round(SIGNALS / seconds),
  };
}

async function latency(): Promise<{ samples: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const sig = createInProcessSignals({ workers: 1, log: () => {} });
  const delays: number[] = [];
  let raisedAt = 0;
  let started = new Event();
  sig.api.registerSignal(2, '', () => {
    delays.push(performance.now() - raisedAt);
    started.set();
  });
  const raiser = spawn(async () => {
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      started = new Event();
      raisedAt = performance.now();
      void sig.api.signal(2);
      await started.wait();
    }
  });
  await raiser.get();
  await sig.close();
  delays.sort((a, b) => a - b);
  const at = (q: number) => round(delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!);
  return { samples: delays.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round(delays.at(-1)!) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const results = { node: process.version, throughput: [] as Awaited<ReturnType<typeof throughput>>[], latency: await latency() };
for (const n of RECEIVERS) results.throughput.push(await throughput(n));
for (const t of results.throughput) {
  console.log(
    `signals: ${t.raised} raises to ${t.receivers} receiver(s): ${t.deliveriesPerSecond} handler runs/s (${t.raisesPerSecond} raises/s) in ${t.seconds}s`,
  );
}
console.log(
  `signals: signal() -> handler start over ${results.latency.samples} samples: p50 ${results.latency.p50Ms} ms, p99 ${results.latency.p99Ms} ms, max ${results.latency.maxMs} ms`,
);
if (process.env.TSGI_BENCH_OUT) writeFileSync(process.env.TSGI_BENCH_OUT, `${JSON.stringify({ package: '@tsgi/signals', ...results }, null, 2)}\n`);
