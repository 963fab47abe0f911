import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  httpGetChunks,
  readRss,
  REFERENCE_DIR,
  runWrk,
  sampleRss,
  startNginx,
  startProcess,
  startUwsgi,
  type CpuLayout,
  type PeerName,
} from '../support/index.js';

/** One figure a scenario reports. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

export interface BenchContext {
  quick: boolean;
  layout: CpuLayout;
  /** Seconds of each measured wrk run. */
  wrkDuration: number;
  /** Seconds of the unrecorded wrk warm-up after a server starts. */
  warmup: number;
  /** Seconds of each run of the sleeping-requests scenario. */
  sleepDuration: number;
  /** Sequential requests timed for time to first byte. */
  ttfbRequests: number;
}

/** A started side of a scenario: measured once per run, then stopped. */
export interface Target {
  measure(): Promise<Record<string, number>>;
  stop(): Promise<unknown>;
}

/** How one side (the baseline, or tsgi) of a scenario is served. */
export interface Side {
  /** What runs, as a reader of the report should see it. */
  name: string;
  /** Peers it needs; when one is missing the side is skipped with a note naming it. */
  needs: PeerName[];
  /** Our programs it needs; when one is not built, the report says "not built yet". */
  programs?: ('tsgi' | 'tsgi-edge')[];
  start(ctx: BenchContext): Promise<Target>;
  /** Rough seconds per measured run, for the time-left estimate. */
  estimate(ctx: BenchContext): number;
}

export interface Scenario {
  id: string;
  title: string;
  metrics: Metric[];
  baseline: Side;
  /** The tsgi side, added next to its baseline once tsgi can serve it. */
  tsgi?: Side;
  /** What the tsgi side will be, printed while `tsgi` is absent. */
  tsgiPlan: string;
}

const HELLO_APP = join(REFERENCE_DIR, 'hello.py');
const STREAM_APP = join(REFERENCE_DIR, 'stream.py');
const SLEEP_APP = join(REFERENCE_DIR, 'sleep.py');
const NODE_HELLO = fileURLToPath(new URL('./node-hello.js', import.meta.url));

const HELLO_METRICS: Metric[] = [
  { key: 'rps', label: 'requests/s', unit: 'req/s', better: 'higher' },
  { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower' },
];

/** Connections for the hello-world runs: wrk -t1 -c50, as the reference rig. */
const HELLO_CONNECTIONS = 50;
const SLEEPERS = 1000;

/** A target measured by wrk at `url`, after one unrecorded warm-up run. */
async function wrkTarget(ctx: BenchContext, url: string, connections: number, stop: () => Promise<unknown>): Promise<Target> {
  try {
    await runWrk({ url, connections, duration: ctx.warmup, cpu: ctx.layout.client });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    async measure() {
      const r = await runWrk({ url, connections, duration: ctx.wrkDuration, cpu: ctx.layout.client });
      return { rps: r.requestsPerSec, p99: r.latency.p99 * 1000 };
    },
    stop,
  };
}

const wrkEstimate = (ctx: BenchContext): number => ctx.wrkDuration + 0.5;

/** Stops several started things in reverse order, even when one fails. */
function stopAllOf(...stops: (() => Promise<unknown>)[]): () => Promise<unknown> {
  return async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
}

// --- baselines -------------------------------------------------------------------------------

export const nodeHttpHello: Side = {
  name: 'Node http.createServer hello (keep-alive)',
  needs: ['wrk'],
  async start(ctx) {
    const proc = await startProcess(process.execPath, [NODE_HELLO], { name: 'node-hello', cpu: ctx.layout.server, ready: /^node-hello listening on \d+$/ });
    const port = /(\d+)$/.exec(proc.output().trim())![1];
    return wrkTarget(ctx, `http://127.0.0.1:${port}/`, HELLO_CONNECTIONS, () => proc.stop());
  },
  estimate: wrkEstimate,
};

export const uwsgiHttpSocketHello: Side = {
  name: 'uWSGI+gevent --http-socket hello (one request per connection)',
  needs: ['uwsgi-gevent', 'wrk'],
  async start(ctx) {
    const uwsgi = await startUwsgi({ app: HELLO_APP, gevent: 100, master: true, disableLogging: true, listen: 1024, socket: 'none', httpSocket: true, cpu: ctx.layout.server });
    return wrkTarget(ctx, uwsgi.httpUrl + '/', HELLO_CONNECTIONS, () => uwsgi.stop());
  },
  estimate: wrkEstimate,
};

export const nginxUwsgiHello: Side = {
  name: 'nginx → uWSGI+gevent (--gevent 100) hello',
  needs: ['nginx', 'uwsgi-gevent', 'wrk'],
  async start(ctx) {
    const uwsgi = await startUwsgi({ app: HELLO_APP, gevent: 100, master: true, disableLogging: true, listen: 1024, cpu: ctx.layout.server });
    const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: uwsgi.address }], accessLog: false, cpu: ctx.layout.server }).catch(async (err) => {
      await uwsgi.stop();
      throw err;
    });
    return wrkTarget(ctx, nginx.url + '/', HELLO_CONNECTIONS, stopAllOf(() => uwsgi.stop(), () => nginx.stop()));
  },
  estimate: wrkEstimate,
};

export const nginxReturn200: Side = {
  name: 'nginx `return 200 "hello"` (1 worker)',
  needs: ['nginx', 'wrk'],
  async start(ctx) {
    const nginx = await startNginx({ locations: [{ prefix: '/', extra: 'return 200 "hello";' }], accessLog: false, cpu: ctx.layout.server });
    return wrkTarget(ctx, nginx.url + '/', HELLO_CONNECTIONS, () => nginx.stop());
  },
  estimate: wrkEstimate,
};

/** Median seconds to the first body byte over `n` sequential requests. */
async function medianTtfb(url: string, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await httpGetChunks(url);
    if (res.status !== 200 || res.chunks.length === 0) throw new Error(`GET ${url} answered ${res.status} with ${res.body.length} bytes`);
    times.push(res.chunks[0].at);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

export const nginxUwsgiStream: Side = {
  name: 'nginx (uwsgi_buffering off) → uWSGI+gevent, 1 MB in 1 KB yields',
  needs: ['nginx', 'uwsgi-gevent', 'wrk'],
  async start(ctx) {
    const uwsgi = await startUwsgi({ app: STREAM_APP, gevent: 100, master: true, disableLogging: true, listen: 1024, cpu: ctx.layout.server });
    const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: uwsgi.address, buffering: false }], accessLog: false, cpu: ctx.layout.server }).catch(async (err) => {
      await uwsgi.stop();
      throw err;
    });
    const url = nginx.url + '/';
    const stop = stopAllOf(() => uwsgi.stop(), () => nginx.stop());
    await runWrk({ url, connections: 10, duration: ctx.warmup, cpu: ctx.layout.client }).catch(async (err) => {
      await stop();
      throw err;
    });
    return {
      async measure() {
        const r = await runWrk({ url, connections: 10, duration: ctx.wrkDuration, cpu: ctx.layout.client });
        const ttfb = await medianTtfb(url, ctx.ttfbRequests);
        return { throughput: r.bytesRead / r.duration / 1e6, ttfb: ttfb * 1000 };
      },
      stop,
    };
  },
  estimate: (ctx) => ctx.wrkDuration + 1,
};

export const uwsgiSleepers: Side = {
  name: 'uWSGI+gevent --gevent 1000, sleep(1) app, 1,000 connections',
  needs: ['uwsgi-gevent', 'wrk'],
  async start(ctx) {
    const uwsgi = await startUwsgi({
      app: SLEEP_APP,
      gevent: SLEEPERS,
      master: true,
      disableLogging: true,
      listen: 2048,
      socket: 'none',
      httpSocket: true,
      cpu: ctx.layout.server,
    });
    const worker = uwsgi.workerPids()[0];
    // Idle RSS once, before any load: memory taken by a run is not given back before the next.
    const idle = (await readRss(worker)) ?? 0;
    return {
      async measure() {
        const sampler = sampleRss([worker]);
        let r;
        try {
          r = await runWrk({ url: uwsgi.httpUrl + '/', connections: SLEEPERS, duration: ctx.sleepDuration, timeout: 5, cpu: ctx.layout.client });
        } finally {
          await sampler.stop();
        }
        const peak = (await sampler.stop()).get(worker) ?? 0;
        const completed = r.requests / r.duration;
        return {
          completed,
          ofIdeal: completed / SLEEPERS,
          peakRss: peak / 2 ** 20,
          rssPerRequest: Math.max(0, peak - idle) / SLEEPERS / 1024,
        };
      },
      stop: () => uwsgi.stop(),
    };
  },
  estimate: (ctx) => ctx.sleepDuration + 1,
};

// --- the registry ----------------------------------------------------------------------------
// Each scenario pairs a baseline with its tsgi side. Adding tsgi is one `tsgi: { ... }` entry next to
// the baseline (a Side whose `programs` names tsgi, so the report says "not built yet" until it is).

export const SCENARIOS: Scenario[] = [
  {
    id: 'hello-http-node',
    title: 'hello world over HTTP: tsgi --http-socket vs raw Node http',
    metrics: HELLO_METRICS,
    baseline: nodeHttpHello,
    tsgiPlan: 'tsgi --gevent 100 --http-socket serving a TypeScript hello world (keep-alive)',
  },
  {
    id: 'hello-http-uwsgi',
    title: 'hello world over HTTP: tsgi --http-socket vs uWSGI+gevent --http-socket',
    metrics: HELLO_METRICS,
    baseline: uwsgiHttpSocketHello,
    tsgiPlan: 'tsgi --gevent 100 --http-socket serving a TypeScript hello world',
  },
  {
    id: 'hello-nginx',
    title: 'hello world behind nginx uwsgi_pass: tsgi vs uWSGI+gevent',
    metrics: HELLO_METRICS,
    baseline: nginxUwsgiHello,
    tsgiPlan: 'nginx → tsgi --gevent 100 --socket, TypeScript hello world',
  },
  {
    id: 'front-static',
    title: 'the front alone: tsgi-edge vs nginx `return 200` (the ceiling for a proxy)',
    metrics: HELLO_METRICS,
    baseline: nginxReturn200,
    tsgiPlan: 'tsgi-edge answering from a static location',
  },
  {
    id: 'stream-1mb',
    title: 'streaming 1 MB in 1 KB chunks behind nginx (buffering off): tsgi vs uWSGI+gevent',
    metrics: [
      { key: 'throughput', label: 'throughput (wrk -c10)', unit: 'MB/s', better: 'higher' },
      { key: 'ttfb', label: 'time to first byte (median)', unit: 'ms', better: 'lower' },
    ],
    baseline: nginxUwsgiStream,
    tsgiPlan: 'nginx (uwsgi_buffering off) → tsgi --gevent 100, async generator yielding 1 KB chunks',
  },
  {
    id: 'sleepers-1000',
    title: '1,000 concurrent 1-second sleeping requests, one worker: tsgi vs uWSGI+gevent --gevent 1000',
    metrics: [
      { key: 'completed', label: 'completed/s', unit: 'req/s', better: 'higher' },
      { key: 'ofIdeal', label: 'of the ideal 1,000/s', unit: '×', better: 'higher' },
      { key: 'peakRss', label: 'peak worker RSS', unit: 'MiB', better: 'lower' },
      { key: 'rssPerRequest', label: 'RSS per in-flight request', unit: 'KiB', better: 'lower' },
    ],
    baseline: uwsgiSleepers,
    tsgiPlan: 'tsgi --gevent 1000 --http-socket, app awaiting sleep(1)',
  },
];
