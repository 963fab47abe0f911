// Express and Hono hello world on tsgi --http-socket against the same app on its own Node server,
// in the same run, with wrk (issue 10; goal: tsgi at least 0.9 of the framework's own server).
// Run after the build: node e2e/dist/frameworks-bench.js [seconds]
import { join } from 'node:path';
import { cpuLayout, REPO_ROOT, runWrk, startProcess, startTsgi, stopAll } from './support/index.js';

const seconds = Number(process.argv[2] ?? '10');
const layout = cpuLayout();
const cpu = layout.pinned ? layout.server : undefined;
const wrkCpu = layout.pinned ? layout.client : undefined;
const APPS = join(REPO_ROOT, 'e2e', 'apps', 'frameworks');

/** A process serving the app on its framework's own Node server, printing `listening PORT`. */
function nativeScript(framework: 'express' | 'hono'): string {
  const file = join(APPS, `${framework}-hello.ts`);
  const serve =
    framework === 'express'
      ? `const s = http.createServer(m.app); s.listen(0, '127.0.0.1', () => console.log('listening ' + s.address().port));`
      : `const { serve } = await import('@hono/node-server'); const s = serve({ fetch: m.default.fetch, port: 0, hostname: '127.0.0.1' }, (i) => console.log('listening ' + i.port));`;
  return `import http from 'node:http'; import { registerTypeScriptLoader } from '@tsgi/server'; registerTypeScriptLoader(); const m = await import(${JSON.stringify(file)}); ${serve}`;
}

async function measure(url: string): Promise<number> {
  await runWrk({ url, connections: 50, duration: 2, cpu: wrkCpu });
  return (await runWrk({ url, connections: 50, duration: seconds, cpu: wrkCpu })).requestsPerSec;
}

try {
  console.log(`frameworks hello world, wrk -c 50 -d ${seconds}s; ${layout.description}`);
  for (const framework of ['express', 'hono'] as const) {
    const native = await startProcess(process.execPath, ['--input-type=module', '-e', nativeScript(framework)], {
      name: `${framework}-native`,
      cwd: join(REPO_ROOT, 'e2e'),
      cpu,
      ready: /^listening \d+$/,
    });
    const port = /listening (\d+)/.exec(native.output())![1];
    const nativeRps = await measure(`http://127.0.0.1:${port}/`);
    await native.stop();
    const tsgi = await startTsgi(['--gevent', '100', '--http-socket', '127.0.0.1:0', '--module', join(APPS, `${framework}-hello.ts`), '--disable-logging'], { cpu });
    const tsgiRps = await measure(tsgi.url + '/');
    await tsgi.stop();
    console.log(`${framework}: own Node server ${nativeRps.toFixed(0)} req/s, tsgi --http-socket ${tsgiRps.toFixed(0)} req/s, ratio ${(tsgiRps / nativeRps).toFixed(2)}`);
  }
} finally {
  await stopAll();
}
