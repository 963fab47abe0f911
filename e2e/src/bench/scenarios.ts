import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  httpGetChunks,
  readRss,
  REFERENCE_DIR,
  REPO_ROOT,
  runWrk,
  sampleRss,
  startEdge,
  startNginx,
  startProcess,
  startTsgi,
  startUwsgi,
  type CpuLayout,
  type PeerName,
  type RunningTsgi,
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
const HTTP_PROXY_BARE = fileURLToPath(new URL('./http-proxy-bare.js', import.meta.url));
const CHUNK_APP = fileURLToPath(new URL('./chunk-stamp-app.js', import.meta.url));

const HELLO_METRICS: Metric[] = [
  { key: 'rps', label: 'requests/s', unit: 'req/s', better: 'higher' },
  { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower' },
];

/** Connections for the hello-world runs: wrk -t1 -c50, as the reference rig. */
const HELLO_CONNECTIONS = 50;
const SLEEPERS = 1000;

/** One unrecorded wrk run before measuring; when it fails, what was started is stopped. */
async function warmUp(ctx: BenchContext, url: string, connections: number, stop: () => Promise<unknown>, timeout?: number): Promise<void> {
  try {
    await runWrk({ url, connections, duration: ctx.warmup, timeout, cpu: ctx.layout.client });
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A target measured by wrk at `url`, after one unrecorded warm-up run. */
async function wrkTarget(ctx: BenchContext, url: string, connections: number, stop: () => Promise<unknown>): Promise<Target> {
  await warmUp(ctx, url, connections, stop);
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

/** A streaming target: throughput with 10 connections after a warm-up, then the median time to first byte. */
async function streamTarget(ctx: BenchContext, url: string, stop: () => Promise<unknown>): Promise<Target> {
  await warmUp(ctx, url, 10, stop);
  return {
    async measure() {
      const r = await runWrk({ url, connections: 10, duration: ctx.wrkDuration, cpu: ctx.layout.client });
      const ttfb = await medianTtfb(url, ctx.ttfbRequests);
      return { throughput: r.bytesRead / r.duration / 1e6, ttfb: ttfb * 1000 };
    },
    stop,
  };
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
    return streamTarget(ctx, url, stopAllOf(() => uwsgi.stop(), () => nginx.stop()));
  },
  estimate: (ctx) => ctx.wrkDuration + 1,
};

// --- tsgi sides ------------------------------------------------------------------------------
// tsgi serves e2e/apps/interop-app.ts, the TypeScript twin of the reference apps, route for route.

const TSGI_APP = join(REPO_ROOT, 'e2e', 'apps', 'interop-app.ts');
const FRAMEWORKS = join(REPO_ROOT, 'e2e', 'apps', 'frameworks');

function tsgiArgs(extra: string[]): string[] {
  return ['--gevent', '100', '--module', TSGI_APP, '--disable-logging', '--listen', '1024', ...extra];
}

function workerPid(tsgi: RunningTsgi): number {
  return Number(/spawned tsgi worker 1 .*\(pid: (\d+)/.exec(tsgi.output())![1]);
}

export const tsgiHttpHello: Side = {
  name: 'tsgi --gevent 100 --http-socket hello (keep-alive)',
  needs: ['wrk'],
  programs: ['tsgi'],
  async start(ctx) {
    const tsgi = await startTsgi(tsgiArgs(['--http-socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
    return wrkTarget(ctx, tsgi.url + '/hello', HELLO_CONNECTIONS, () => tsgi.stop());
  },
  estimate: wrkEstimate,
};

export const tsgiMonkeyHello: Side = {
  name: 'tsgi --http-socket hello with --gevent-monkey-patch',
  needs: ['wrk'],
  programs: ['tsgi'],
  async start(ctx) {
    const tsgi = await startTsgi(tsgiArgs(['--http-socket', '127.0.0.1:0', '--gevent-monkey-patch']), { cpu: ctx.layout.server });
    return wrkTarget(ctx, tsgi.url + '/hello', HELLO_CONNECTIONS, () => tsgi.stop());
  },
  estimate: wrkEstimate,
};

export const nginxTsgiHello: Side = {
  name: 'nginx → tsgi --gevent 100 --socket hello',
  needs: ['nginx', 'wrk'],
  programs: ['tsgi'],
  async start(ctx) {
    const tsgi = await startTsgi(tsgiArgs(['--socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
    const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: tsgi.uwsgiAddress! }], accessLog: false, cpu: ctx.layout.server }).catch(async (err) => {
      await tsgi.stop();
      throw err;
    });
    return wrkTarget(ctx, nginx.url + '/hello', HELLO_CONNECTIONS, stopAllOf(() => tsgi.stop(), () => nginx.stop()));
  },
  estimate: wrkEstimate,
};

export const edgeTsgiHello: Side = {
  name: 'tsgi-edge (buffering on) → tsgi --gevent 100 --socket hello',
  needs: ['wrk'],
  programs: ['tsgi', 'tsgi-edge'],
  async start(ctx) {
    const tsgi = await startTsgi(tsgiArgs(['--socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
    const address = tsgi.uwsgiAddress as { host: string; port: number };
    const edge = await startEdge(['--listen', '127.0.0.1:0', '--uwsgi-pass', `${address.host}:${address.port}`, '--access-log', 'off'], { cpu: ctx.layout.server }).catch(async (err) => {
      await tsgi.stop();
      throw err;
    });
    return wrkTarget(ctx, edge.url + '/hello', HELLO_CONNECTIONS, stopAllOf(() => tsgi.stop(), () => edge.stop()));
  },
  estimate: wrkEstimate,
};

export const edgeStatic: Side = {
  name: 'tsgi-edge static location (a 5-byte file)',
  needs: ['wrk'],
  programs: ['tsgi-edge'],
  async start(ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-bench-static-'));
    writeFileSync(join(dir, 'hello'), 'hello');
    const edge = await startEdge(['--listen', '127.0.0.1:0', '--static', dir, '--access-log', 'off'], { cpu: ctx.layout.server });
    return wrkTarget(ctx, edge.url + '/hello', HELLO_CONNECTIONS, () => edge.stop());
  },
  estimate: wrkEstimate,
};

export const nginxTsgiStream: Side = {
  name: 'nginx (uwsgi_buffering off) → tsgi, 1 MB in 1 KB yields',
  needs: ['nginx', 'wrk'],
  programs: ['tsgi'],
  async start(ctx) {
    const tsgi = await startTsgi(tsgiArgs(['--socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
    const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: tsgi.uwsgiAddress!, buffering: false }], accessLog: false, cpu: ctx.layout.server }).catch(async (err) => {
      await tsgi.stop();
      throw err;
    });
    const url = nginx.url + '/stream?kb=1024';
    return streamTarget(ctx, url, stopAllOf(() => tsgi.stop(), () => nginx.stop()));
  },
  estimate: (ctx) => ctx.wrkDuration + 1,
};

/** How long each sleeping request sleeps (`/sleep?s=1`, and the reference's sleep.py). */
const SLEEP_SECONDS = 1;


/** The pause after the warm-up run: the requests wrk left behind finish their sleep before measuring. */
const SETTLE_SECONDS = SLEEP_SECONDS + 1;

const sleepersEstimate = (ctx: BenchContext): number => ctx.warmup + SETTLE_SECONDS + ctx.sleepDuration + 1;

/**
 * A sleeping-requests target: `connections` clients on `url`, the worker's RSS sampled meanwhile.
 * Like every wrk target it is measured after an unrecorded warm-up run, here at the same concurrency,
 * so the figures are a running server's, not V8 compiling the request path during the ramp (cold, the
 * first wave of 1,000 requests took tsgi about 0.1 s more: p99 1.14 s where uWSGI's C path had 1.06).
 * `idle` is read before the warm-up, so the RSS figures include what warming up added.
 */
async function sleepersTarget(ctx: BenchContext, url: string, worker: number, connections: number, idle: number, stop: () => Promise<unknown>): Promise<Target> {
  await warmUp(ctx, url, connections, stop, 10);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));
  return {
    async measure() {
      const sampler = sampleRss([worker]);
      let r;
      try {
        r = await runWrk({ url, connections, duration: ctx.sleepDuration, timeout: 10, cpu: ctx.layout.client });
      } finally {
        await sampler.stop();
      }
      const peak = (await sampler.stop()).get(worker) ?? 0;
      const completed = r.requests / r.duration;
      // No request can complete in the first second, and the reference rig counts from there: its
      // "928/s (= 1000/s after the 1 s ramp: 14000 req / 14 s)".
      const afterRamp = r.requests / (r.duration - SLEEP_SECONDS) / connections;
      // A request's time beyond its 1 s sleep is queueing in the worker: the reference's figure is p99 <= 1.07 s at 1,000.
      const latency = { p50: r.latency.p50 * 1000, p99: r.latency.p99 * 1000 };
      return { completed, ofIdeal: completed / connections, afterRamp, ...latency, peakRss: peak / 2 ** 20, rssPerRequest: Math.max(0, peak - idle) / connections / 1024 };
    },
    stop,
  };
}

/** tsgi's workers with V8's own heap settings instead of `--worker-heap lean`, tsgi's default (@tsgi/server README, "Memory"). */
const V8_HEAP_ARGS = ['--worker-heap', 'v8'];

function tsgiSleepers(connections: number, extra: readonly string[] = []): Side {
  return {
    name: `tsgi --gevent ${connections} --http-socket${extra.length > 0 ? ' ' + extra.join(' ') : ''}, app awaiting sleep(1), ${connections.toLocaleString('en')} connections`,
    needs: ['wrk'],
    programs: ['tsgi'],
    async start(ctx) {
      const tsgi = await startTsgi(['--gevent', String(connections), '--module', TSGI_APP, '--disable-logging', '--listen', '4096', '--http-socket', '127.0.0.1:0', ...extra], { cpu: ctx.layout.server });
      const worker = workerPid(tsgi);
      const idle = (await readRss(worker)) ?? 0;
      return sleepersTarget(ctx, tsgi.url + `/sleep?s=${SLEEP_SECONDS}`, worker, connections, idle, () => tsgi.stop());
    },
    estimate: sleepersEstimate,
  };
}

/** The same sleeping requests over the uwsgi protocol, nginx in front (where tsgi serves each connection on its bare handle). */
function nginxTsgiSleepers(connections: number, extra: readonly string[] = []): Side {
  return {
    name: `nginx → tsgi --gevent ${connections} --socket${extra.length > 0 ? ' ' + extra.join(' ') : ''}, app awaiting sleep(1), ${connections.toLocaleString('en')} connections`,
    needs: ['nginx', 'wrk'],
    programs: ['tsgi'],
    async start(ctx) {
      const tsgi = await startTsgi(['--gevent', String(connections), '--module', TSGI_APP, '--disable-logging', '--listen', '4096', '--socket', '127.0.0.1:0', ...extra], { cpu: ctx.layout.server });
      const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: tsgi.uwsgiAddress! }], accessLog: false, workerConnections: 4 * connections + 64, cpu: ctx.layout.server }).catch(async (err) => {
        await tsgi.stop();
        throw err;
      });
      const worker = workerPid(tsgi);
      const idle = (await readRss(worker)) ?? 0;
      return sleepersTarget(ctx, nginx.url + `/sleep?s=${SLEEP_SECONDS}`, worker, connections, idle, stopAllOf(() => tsgi.stop(), () => nginx.stop()));
    },
    estimate: sleepersEstimate,
  };
}

function nginxUwsgiSleepers(connections: number): Side {
  return {
    name: `nginx → uWSGI+gevent --gevent ${connections}, sleep(1) app, ${connections.toLocaleString('en')} connections`,
    needs: ['nginx', 'uwsgi-gevent', 'wrk'],
    async start(ctx) {
      const uwsgi = await startUwsgi({ app: SLEEP_APP, gevent: connections, master: true, disableLogging: true, listen: 4096, cpu: ctx.layout.server });
      const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: uwsgi.address }], accessLog: false, workerConnections: 4 * connections + 64, cpu: ctx.layout.server }).catch(async (err) => {
        await uwsgi.stop();
        throw err;
      });
      const worker = uwsgi.workerPids()[0];
      const idle = (await readRss(worker)) ?? 0;
      return sleepersTarget(ctx, nginx.url + '/', worker, connections, idle, stopAllOf(() => uwsgi.stop(), () => nginx.stop()));
    },
    estimate: sleepersEstimate,
  };
}

function uwsgiSleepersOf(connections: number): Side {
  return {
    name: `uWSGI+gevent --gevent ${connections}, sleep(1) app, ${connections.toLocaleString('en')} connections`,
    needs: ['uwsgi-gevent', 'wrk'],
    async start(ctx) {
      const uwsgi = await startUwsgi({ app: SLEEP_APP, gevent: connections, master: true, disableLogging: true, listen: 4096, socket: 'none', httpSocket: true, cpu: ctx.layout.server });
      const worker = uwsgi.workerPids()[0];
      const idle = (await readRss(worker)) ?? 0;
      return sleepersTarget(ctx, uwsgi.httpUrl + '/', worker, connections, idle, () => uwsgi.stop());
    },
    estimate: sleepersEstimate,
  };
}

/** Both cores for the servers and for wrk: what two worker processes can do on this machine. */
const SHARED_CPUS = '0,1';

function processesSide(kind: 'tsgi' | 'uwsgi', processes: number): Side {
  const name =
    kind === 'tsgi'
      ? `tsgi --processes ${processes} --gevent 100 --http-socket hello (servers and wrk share both cores)`
      : `uWSGI+gevent --processes ${processes} --gevent 100 --http-socket hello (servers and wrk share both cores)`;
  return {
    name,
    needs: kind === 'tsgi' ? ['wrk'] : ['uwsgi-gevent', 'wrk'],
    ...(kind === 'tsgi' ? { programs: ['tsgi' as const] } : {}),
    async start(ctx) {
      const shared = { ...ctx, layout: { ...ctx.layout, server: SHARED_CPUS, client: SHARED_CPUS } } as unknown as BenchContext;
      if (kind === 'tsgi') {
        const tsgi = await startTsgi(tsgiArgs(['--master', '--processes', String(processes), '--http-socket', '127.0.0.1:0']), { cpu: SHARED_CPUS });
        return wrkTarget(shared, tsgi.url + '/hello', HELLO_CONNECTIONS, () => tsgi.stop());
      }
      const uwsgi = await startUwsgi({ app: HELLO_APP, gevent: 100, master: true, processes, disableLogging: true, listen: 1024, socket: 'none', httpSocket: true, cpu: SHARED_CPUS });
      return wrkTarget(shared, uwsgi.httpUrl + '/', HELLO_CONNECTIONS, () => uwsgi.stop());
    },
    estimate: wrkEstimate,
  };
}

/** wrk at full load while the master reloads every worker (SIGHUP): failed requests, and how long the reload took. */
function reloadSide(kind: 'tsgi' | 'uwsgi'): Side {
  return {
    name:
      kind === 'tsgi'
        ? 'tsgi --master --processes 2: wrk -c50 through a SIGHUP rolling reload'
        : 'uWSGI+gevent --master --processes 2: wrk -c50 through a SIGHUP graceful reload',
    needs: kind === 'tsgi' ? ['wrk'] : ['uwsgi-gevent', 'wrk'],
    ...(kind === 'tsgi' ? { programs: ['tsgi' as const] } : {}),
    async start(ctx) {
      let url: string;
      let masterPid: number;
      let stop: () => Promise<unknown>;
      let reloaded: (since: number) => Promise<number>;
      if (kind === 'tsgi') {
        const tsgi = await startTsgi(tsgiArgs(['--master', '--processes', '2', '--http-socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
        url = tsgi.url + '/hello';
        masterPid = tsgi.process.pid;
        stop = () => tsgi.stop();
        reloaded = async (since) => {
          const m = await tsgi.waitForLine(/workers reloaded in ([\d.]+) s/, 120, since);
          return Number(m[1]);
        };
        const lines = () => tsgi.lines().length;
        return {
          async measure() {
            const since = lines();
            const load = runWrk({ url, connections: HELLO_CONNECTIONS, duration: ctx.wrkDuration, cpu: ctx.layout.client });
            // Awaited below, after the reload; until then a failure must not go unhandled.
            load.catch(() => undefined);
            await new Promise((r) => setTimeout(r, 1000));
            process.kill(masterPid, 'SIGHUP');
            const seconds = await reloaded(since);
            const r = await load;
            const e = r.errors;
            return { failed: e.connect + e.read + e.write + e.timeout + e.status, reloadSeconds: seconds, rps: r.requestsPerSec };
          },
          stop,
        };
      }
      const uwsgi = await startUwsgi({ app: HELLO_APP, gevent: 100, master: true, processes: 2, disableLogging: true, listen: 1024, socket: 'none', httpSocket: true, cpu: ctx.layout.server });
      url = uwsgi.httpUrl + '/';
      masterPid = uwsgi.process.pid;
      return {
        async measure() {
          const since = uwsgi.process.lines().length;
          const load = runWrk({ url, connections: HELLO_CONNECTIONS, duration: ctx.wrkDuration, cpu: ctx.layout.client });
          load.catch(() => undefined);
          await new Promise((r) => setTimeout(r, 1000));
          const sent = Date.now();
          process.kill(masterPid, 'SIGHUP');
          // uWSGI re-execs its master and respawns both workers; the reload is over when worker 2 is back.
          await uwsgi.process.waitForLine(/spawned uWSGI worker 2 /, 120, since);
          const seconds = (Date.now() - sent) / 1000;
          const r = await load;
          const e = r.errors;
          return { failed: e.connect + e.read + e.write + e.timeout + e.status, reloadSeconds: seconds, rps: r.requestsPerSec };
        },
        stop: () => uwsgi.stop(),
      };
    },
    estimate: (ctx) => ctx.wrkDuration + 2,
  };
}

/** A framework's hello world on its own Node server (`native`) or on tsgi --http-socket. */
function frameworkSide(framework: 'express' | 'hono', on: 'native' | 'tsgi'): Side {
  const file = join(FRAMEWORKS, `${framework}-hello.ts`);
  return {
    name: on === 'tsgi' ? `${framework} hello on tsgi --gevent 100 --http-socket` : `${framework} hello on its own Node server`,
    needs: ['wrk'],
    programs: ['tsgi'],
    async start(ctx) {
      if (on === 'tsgi') {
        const tsgi = await startTsgi(['--gevent', '100', '--http-socket', '127.0.0.1:0', '--module', file, '--disable-logging'], { cpu: ctx.layout.server });
        return wrkTarget(ctx, tsgi.url + '/', HELLO_CONNECTIONS, () => tsgi.stop());
      }
      const serve =
        framework === 'express'
          ? `const s = http.createServer(m.app); s.listen(0, '127.0.0.1', () => console.log('listening ' + s.address().port));`
          : `const { serve } = await import('@hono/node-server'); serve({ fetch: m.default.fetch, port: 0, hostname: '127.0.0.1' }, (i) => console.log('listening ' + i.port));`;
      const script = `import http from 'node:http'; import { registerTypeScriptLoader } from '@tsgi/server'; registerTypeScriptLoader(); const m = await import(${JSON.stringify(file)}); ${serve}`;
      const proc = await startProcess(process.execPath, ['--input-type=module', '-e', script], { name: `${framework}-native`, cwd: join(REPO_ROOT, 'e2e'), cpu: ctx.layout.server, ready: /^listening \d+$/ });
      const port = /listening (\d+)/.exec(proc.output())![1];
      return wrkTarget(ctx, `http://127.0.0.1:${port}/`, HELLO_CONNECTIONS, () => proc.stop());
    },
    estimate: wrkEstimate,
  };
}

// --- proxy_pass to an HTTP upstream: tsgi-edge vs nginx vs http-proxy-3 used bare ----------------
// Every side keeps up to UPSTREAM_KEEPALIVE idle connections to the upstream (nginx `upstream { keepalive }`,
// tsgi-edge `--upstream-keepalive`, a keep-alive http.Agent for http-proxy-3). Without it, a proxy whose
// upstream closes first (http-proxy-3 and tsgi-edge send `Connection: close`, as nginx's default HTTP/1.0
// does) leaves the upstream's side of every connection in TIME_WAIT, and at thousands of connections a second
// on loopback new SYNs start landing on those: stalls of a second that measure the kernel, not the proxy.
const UPSTREAM_KEEPALIVE = 32;

/** The raw Node hello on the server CPU: the HTTP upstream of the proxy_pass scenarios. */
async function startNodeHello(ctx: BenchContext): Promise<{ port: number; stop: () => Promise<unknown> }> {
  const proc = await startProcess(process.execPath, [NODE_HELLO], { name: 'node-hello', cpu: ctx.layout.server, ready: /^node-hello listening on \d+$/ });
  return { port: Number(/(\d+)$/.exec(proc.output().trim())![1]), stop: () => proc.stop() };
}

export const nginxProxyHello: Side = {
  name: `nginx proxy_pass (1 worker, upstream keepalive ${UPSTREAM_KEEPALIVE}) → Node http hello`,
  needs: ['nginx', 'wrk'],
  async start(ctx) {
    const hello = await startNodeHello(ctx);
    const nginx = await startNginx({
      locations: [{ prefix: '/', proxyPass: 'http://node_hello' }],
      extraHttp: `upstream node_hello { server 127.0.0.1:${hello.port}; keepalive ${UPSTREAM_KEEPALIVE}; }`,
      accessLog: false,
      cpu: ctx.layout.server,
    }).catch(async (err) => {
      await hello.stop();
      throw err;
    });
    return wrkTarget(ctx, nginx.url + '/', HELLO_CONNECTIONS, stopAllOf(hello.stop, () => nginx.stop()));
  },
  estimate: wrkEstimate,
};

export const httpProxyBareHello: Side = {
  name: 'http-proxy-3 used bare (ProxyServer with a target and a keep-alive http.Agent) → Node http hello',
  needs: ['wrk'],
  async start(ctx) {
    const hello = await startNodeHello(ctx);
    const proxy = await startProcess(process.execPath, [HTTP_PROXY_BARE, String(hello.port), String(UPSTREAM_KEEPALIVE)], { name: 'http-proxy-bare', cpu: ctx.layout.server, ready: /^http-proxy-bare listening on \d+$/ }).catch(async (err) => {
      await hello.stop();
      throw err;
    });
    const port = /(\d+)$/.exec(proxy.output().trim())![1];
    return wrkTarget(ctx, `http://127.0.0.1:${port}/`, HELLO_CONNECTIONS, stopAllOf(hello.stop, () => proxy.stop()));
  },
  estimate: wrkEstimate,
};

export const edgeProxyHello: Side = {
  name: `tsgi-edge proxy_pass (buffering on, --upstream-keepalive ${UPSTREAM_KEEPALIVE}) → Node http hello`,
  needs: ['wrk'],
  programs: ['tsgi-edge'],
  async start(ctx) {
    const hello = await startNodeHello(ctx);
    const edge = await startEdge(['--listen', '127.0.0.1:0', '--proxy-pass', `http://127.0.0.1:${hello.port}`, '--upstream-keepalive', String(UPSTREAM_KEEPALIVE), '--access-log', 'off'], { cpu: ctx.layout.server }).catch(async (err) => {
      await hello.stop();
      throw err;
    });
    return wrkTarget(ctx, edge.url + '/', HELLO_CONNECTIONS, stopAllOf(hello.stop, () => edge.stop()));
  },
  estimate: wrkEstimate,
};

// --- one streamed chunk through tsgi-edge (buffering off) vs straight from tsgi ------------------------

const CHUNK_METRICS: Metric[] = [
  { key: 'p50', label: 'chunk latency, p50', unit: 'ms', better: 'lower' },
  { key: 'p99', label: 'chunk latency, p99', unit: 'ms', better: 'lower' },
  { key: 'addedP50', label: 'added by tsgi-edge, p50', unit: 'ms', better: 'lower' },
  { key: 'addedP99', label: 'added by tsgi-edge, p99', unit: 'ms', better: 'lower' },
];

/** Sequential requests per path and run, after a warm-up of CHUNK_WARMUP. */
const chunkRequests = (ctx: BenchContext): number => (ctx.quick ? 200 : 1000);
const CHUNK_WARMUP = 20;

/**
 * One GET of the chunk-stamp app: milliseconds from the app's yield of its stamped line to the line's arrival
 * here (both clocks are performance.timeOrigin + performance.now() on the same machine).
 */
function chunkLatency(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let text = '';
      let latency: number | undefined;
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        const at = performance.timeOrigin + performance.now();
        text += chunk;
        if (latency !== undefined) return;
        const lines = text.split('\n');
        if (lines.length >= 3) latency = at - Number(lines[1]);
      });
      res.on('end', () => {
        if (res.statusCode === 200 && latency !== undefined && Number.isFinite(latency)) resolve(latency);
        else reject(new Error(`GET ${url} answered ${res.statusCode} with ${JSON.stringify(text.slice(0, 80))}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The q-quantile (0..1) of unsorted samples, nearest rank. */
function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Latencies of `n` requests on each URL, the URLs taking turns (each first every other time). */
async function chunkLatencies(urls: readonly string[], n: number): Promise<number[][]> {
  const agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    for (let i = 0; i < CHUNK_WARMUP; i++) for (let u = 0; u < urls.length; u++) await chunkLatency(urls[u], agents[u]);
    const out: number[][] = urls.map(() => []);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < urls.length; k++) {
        const u = (i + k) % urls.length;
        out[u].push(await chunkLatency(urls[u], agents[u]));
      }
    }
    return out;
  } finally {
    for (const a of agents) a.destroy();
  }
}

function chunkTsgiArgs(extra: string[]): string[] {
  return ['--gevent', '100', '--module', CHUNK_APP, '--disable-logging', ...extra];
}

export const chunkDirect: Side = {
  name: 'straight from tsgi --http-socket (the app yields a stamped line 2 ms after its first)',
  needs: [],
  programs: ['tsgi'],
  async start(ctx) {
    const tsgi = await startTsgi(chunkTsgiArgs(['--http-socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
    return {
      async measure() {
        const [direct] = await chunkLatencies([tsgi.url + '/'], chunkRequests(ctx));
        return { p50: quantile(direct, 0.5), p99: quantile(direct, 0.99) };
      },
      stop: () => tsgi.stop(),
    };
  },
  estimate: (ctx) => chunkRequests(ctx) * 0.004,
};

export const chunkViaEdge: Side = {
  name: 'through tsgi-edge (buffering off, uwsgi_pass) to the same tsgi; added = this path minus the direct one, measured alternately',
  needs: [],
  programs: ['tsgi', 'tsgi-edge'],
  async start(ctx) {
    const tsgi = await startTsgi(chunkTsgiArgs(['--http-socket', '127.0.0.1:0', '--socket', '127.0.0.1:0']), { cpu: ctx.layout.server });
    const address = tsgi.uwsgiAddress as { host: string; port: number };
    const edge = await startEdge(['--listen', '127.0.0.1:0', '--uwsgi-pass', `${address.host}:${address.port}`, '--buffering', 'off', '--access-log', 'off'], { cpu: ctx.layout.server }).catch(async (err) => {
      await tsgi.stop();
      throw err;
    });
    return {
      async measure() {
        const [viaEdge, direct] = await chunkLatencies([edge.url + '/', tsgi.url + '/'], chunkRequests(ctx));
        const p50 = quantile(viaEdge, 0.5);
        const p99 = quantile(viaEdge, 0.99);
        return { p50, p99, addedP50: p50 - quantile(direct, 0.5), addedP99: p99 - quantile(direct, 0.99) };
      },
      stop: stopAllOf(() => tsgi.stop(), () => edge.stop()),
    };
  },
  estimate: (ctx) => chunkRequests(ctx) * 0.008,
};

const SLEEPER_METRICS = (n: number): Metric[] => [
  { key: 'completed', label: 'completed/s', unit: 'req/s', better: 'higher' },
  { key: 'ofIdeal', label: `of the ideal ${n.toLocaleString('en')}/s, whole run`, unit: '×', better: 'higher' },
  { key: 'afterRamp', label: `of the ideal ${n.toLocaleString('en')}/s after the 1 s ramp`, unit: '×', better: 'higher' },
  { key: 'p50', label: 'p50 latency (sleep included)', unit: 'ms', better: 'lower' },
  { key: 'p99', label: 'p99 latency (sleep included)', unit: 'ms', better: 'lower' },
  { key: 'peakRss', label: 'peak worker RSS', unit: 'MiB', better: 'lower' },
  { key: 'rssPerRequest', label: 'RSS per in-flight request', unit: 'KiB', better: 'lower' },
];

// --- the registry ----------------------------------------------------------------------------
// Each scenario pairs a baseline with its tsgi side. Adding tsgi is one `tsgi: { ... }` entry next to
// the baseline (a Side whose `programs` names tsgi, so the report says "not built yet" until it is).

export const SCENARIOS: Scenario[] = [
  {
    id: 'hello-http-node',
    title: 'hello world over HTTP: tsgi --http-socket vs raw Node http',
    metrics: HELLO_METRICS,
    baseline: nodeHttpHello,
    tsgi: tsgiHttpHello,
    tsgiPlan: 'tsgi --gevent 100 --http-socket serving a TypeScript hello world (keep-alive)',
  },
  {
    id: 'hello-http-uwsgi',
    title: 'hello world over HTTP: tsgi --http-socket vs uWSGI+gevent --http-socket',
    metrics: HELLO_METRICS,
    baseline: uwsgiHttpSocketHello,
    tsgi: tsgiHttpHello,
    tsgiPlan: 'tsgi --gevent 100 --http-socket serving a TypeScript hello world',
  },
  {
    id: 'hello-nginx',
    title: 'hello world behind nginx uwsgi_pass: tsgi vs uWSGI+gevent',
    metrics: HELLO_METRICS,
    baseline: nginxUwsgiHello,
    tsgi: nginxTsgiHello,
    tsgiPlan: 'nginx → tsgi --gevent 100 --socket, TypeScript hello world',
  },
  {
    id: 'front-static',
    title: 'the front alone: tsgi-edge vs nginx `return 200` (the ceiling for a proxy)',
    metrics: HELLO_METRICS,
    baseline: nginxReturn200,
    tsgi: edgeStatic,
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
    tsgi: nginxTsgiStream,
    tsgiPlan: 'nginx (uwsgi_buffering off) → tsgi --gevent 100, async generator yielding 1 KB chunks',
  },
  {
    id: 'sleepers-1000',
    title: '1,000 concurrent 1-second sleeping requests, one worker: tsgi vs uWSGI+gevent --gevent 1000',
    metrics: SLEEPER_METRICS(SLEEPERS),
    baseline: uwsgiSleepersOf(SLEEPERS),
    tsgi: tsgiSleepers(SLEEPERS),
    tsgiPlan: 'tsgi --gevent 1000 --http-socket, app awaiting sleep(1)',
  },
  {
    id: 'sleepers-10000',
    title: '10,000 concurrent 1-second sleeping requests, one worker: tsgi vs uWSGI+gevent --gevent 10000',
    metrics: SLEEPER_METRICS(10_000),
    baseline: uwsgiSleepersOf(10_000),
    tsgi: tsgiSleepers(10_000),
    tsgiPlan: 'tsgi --gevent 10000 --http-socket, app awaiting sleep(1)',
  },
  {
    id: 'sleepers-1000-nginx',
    title: '1,000 concurrent 1-second sleeping requests behind nginx uwsgi_pass, one worker: tsgi --socket vs uWSGI+gevent --socket',
    metrics: SLEEPER_METRICS(SLEEPERS),
    baseline: nginxUwsgiSleepers(SLEEPERS),
    tsgi: nginxTsgiSleepers(SLEEPERS),
    tsgiPlan: 'nginx → tsgi --gevent 1000 --socket, app awaiting sleep(1)',
  },
  {
    id: 'sleepers-10000-nginx',
    title: '10,000 concurrent 1-second sleeping requests behind nginx uwsgi_pass, one worker: tsgi --socket vs uWSGI+gevent --socket',
    metrics: SLEEPER_METRICS(10_000),
    baseline: nginxUwsgiSleepers(10_000),
    tsgi: nginxTsgiSleepers(10_000),
    tsgiPlan: 'nginx → tsgi --gevent 10000 --socket, app awaiting sleep(1)',
  },
  {
    id: 'sleepers-1000-nginx-v8',
    title: '1,000 sleeping requests behind nginx, tsgi workers with V8\'s heap defaults (--worker-heap v8) vs uWSGI+gevent',
    metrics: SLEEPER_METRICS(SLEEPERS),
    baseline: nginxUwsgiSleepers(SLEEPERS),
    tsgi: nginxTsgiSleepers(SLEEPERS, V8_HEAP_ARGS),
    tsgiPlan: 'nginx → tsgi --gevent 1000 --socket --worker-heap v8',
  },
  {
    id: 'sleepers-10000-v8',
    title: '10,000 sleeping requests over --http-socket, tsgi workers with V8\'s heap defaults (--worker-heap v8) vs uWSGI+gevent',
    metrics: SLEEPER_METRICS(10_000),
    baseline: uwsgiSleepersOf(10_000),
    tsgi: tsgiSleepers(10_000, V8_HEAP_ARGS),
    tsgiPlan: 'tsgi --gevent 10000 --http-socket --worker-heap v8',
  },
  {
    id: 'edge-vs-nginx',
    title: 'the front in front of tsgi: tsgi-edge vs nginx (1 worker), both uwsgi_pass to the same tsgi setup',
    metrics: HELLO_METRICS,
    baseline: nginxTsgiHello,
    tsgi: edgeTsgiHello,
    tsgiPlan: 'tsgi-edge → tsgi --socket',
  },
  {
    id: 'edge-proxy-vs-nginx',
    title: 'proxy_pass to an HTTP upstream (raw Node hello): tsgi-edge vs nginx (1 worker)',
    metrics: HELLO_METRICS,
    baseline: nginxProxyHello,
    tsgi: edgeProxyHello,
    tsgiPlan: 'tsgi-edge --proxy-pass',
  },
  {
    id: 'edge-proxy-vs-http-proxy',
    title: 'proxy_pass to an HTTP upstream (raw Node hello): tsgi-edge vs http-proxy-3 used bare',
    metrics: HELLO_METRICS,
    baseline: httpProxyBareHello,
    tsgi: edgeProxyHello,
    tsgiPlan: 'tsgi-edge --proxy-pass',
  },
  {
    id: 'edge-chunk-latency',
    title: 'one streamed chunk, app yield to client: through tsgi-edge (buffering off) vs straight from tsgi (goal: under 1 ms added at p99)',
    metrics: CHUNK_METRICS,
    baseline: chunkDirect,
    tsgi: chunkViaEdge,
    tsgiPlan: 'tsgi-edge --buffering off → tsgi --socket',
  },
  {
    id: 'processes-2-tsgi',
    title: 'scaling: tsgi --processes 2 (the tsgi side) vs tsgi --processes 1 (the baseline), same run',
    metrics: HELLO_METRICS,
    baseline: processesSide('tsgi', 1),
    tsgi: processesSide('tsgi', 2),
    tsgiPlan: 'tsgi --processes 2',
  },
  {
    id: 'processes-2-uwsgi',
    title: "scaling of uWSGI for comparison: uWSGI --processes 2 (in the tsgi column) vs --processes 1 (baseline)",
    metrics: HELLO_METRICS,
    baseline: processesSide('uwsgi', 1),
    tsgi: { ...processesSide('uwsgi', 2), programs: [] },
    tsgiPlan: 'uWSGI --processes 2',
  },
  {
    id: 'reload-under-load',
    title: 'a graceful reload of every worker under wrk load: tsgi (rolling) vs uWSGI+gevent',
    metrics: [
      { key: 'failed', label: 'failed or reset requests', unit: 'req', better: 'lower' },
      { key: 'reloadSeconds', label: 'reload took', unit: 's', better: 'lower' },
      { key: 'rps', label: 'requests/s through the reload', unit: 'req/s', better: 'higher' },
    ],
    baseline: reloadSide('uwsgi'),
    tsgi: reloadSide('tsgi'),
    tsgiPlan: 'tsgi --master --processes 2, SIGHUP',
  },
  {
    id: 'monkey-overhead',
    title: 'the cost of --gevent-monkey-patch: tsgi hello patched (tsgi side) vs unpatched (baseline)',
    metrics: HELLO_METRICS,
    baseline: { ...tsgiHttpHello, name: 'tsgi --http-socket hello, unpatched' },
    tsgi: tsgiMonkeyHello,
    tsgiPlan: 'tsgi --gevent-monkey-patch',
  },
  {
    id: 'express',
    title: 'Express hello world: on tsgi --http-socket vs on its own Node server',
    metrics: HELLO_METRICS,
    baseline: frameworkSide('express', 'native'),
    tsgi: frameworkSide('express', 'tsgi'),
    tsgiPlan: 'express app on tsgi',
  },
  {
    id: 'hono',
    title: 'Hono hello world: on tsgi --http-socket vs on @hono/node-server',
    metrics: HELLO_METRICS,
    baseline: frameworkSide('hono', 'native'),
    tsgi: frameworkSide('hono', 'tsgi'),
    tsgiPlan: 'hono app on tsgi',
  },
];
