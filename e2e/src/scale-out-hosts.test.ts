// Scale-out across hosts (issue 9): two tsgi "hosts" and a tsgi-edge "front host", each in its own
// Linux network namespace, joined by veth pairs the test creates:
//
//     test process ──unix socket──> [front] tsgi-edge   10.200.1.1 ──veth── 10.200.1.2 [h1] tsgi
//                                                       10.200.2.1 ──veth── 10.200.2.2 [h2] tsgi
//
// The test process reaches the edge through a unix socket (a file, which crosses network namespaces),
// so no address or route is ever added to its own namespace and no packet leaves the ones made here.
// Root only; skipped with the reason elsewhere.
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir, programSkipReason, REPO_ROOT, startProcess, stopAll, type StartedProcess } from './support/index.js';
import { NetnsLab, netnsSkipReason, removeStaleNamespaces } from './scale-out/network-namespaces.js';

const HOST_APP = fileURLToPath(new URL('./scale-out/host-app.js', import.meta.url));
const TSGI_BIN = join(REPO_ROOT, 'apps', 'tsgi', 'bin', 'tsgi.js');
const EDGE_BIN = join(REPO_ROOT, 'apps', 'edge', 'bin', 'tsgi-edge.js');
const H1 = '10.200.1.2';
const H2 = '10.200.2.2';
const REQUEST_TIMEOUT_S = 20;

const skip = programSkipReason('tsgi', 'tsgi-edge') ?? netnsSkipReason();

interface Reply {
  status: number;
  body: string;
  /** The host address the app reported, or '' for a failed request. */
  host: string;
}

function get(socketPath: string, path: string): Promise<Reply> {
  return new Promise((resolve) => {
    const fail = (why: string): void => resolve({ status: 0, body: why, host: '' });
    const req = http.get({ socketPath, path, agent: false, headers: { host: 'scale-out.test' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, host: /served by (\S+)/.exec(body)?.[1] ?? '' }));
      res.on('error', (e) => fail(e.message));
    });
    req.setTimeout(REQUEST_TIMEOUT_S * 1000, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_S} s`)));
    req.on('error', (e) => fail(e.message));
  });
}

/** `total` GETs of `path` over `concurrency` connections at a time; `onStart(i)` runs before request i. */
async function load(socketPath: string, path: string, total: number, concurrency: number, onStart?: (i: number) => void) {
  const replies: (Reply & { index: number; startedAt: number })[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      onStart?.(index);
      const startedAt = performance.now();
      replies.push({ index, startedAt, ...(await get(socketPath, path)) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return replies;
}

function countByHost(replies: readonly Reply[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of replies) counts[r.host] = (counts[r.host] ?? 0) + 1;
  return counts;
}

/** The failed requests, summarised as `N failed: <first few>` (or [] when none failed). */
function failures(replies: readonly Reply[]): string[] {
  const failed = replies.filter((r) => r.status !== 200 || r.host === '');
  if (!failed.length) return [];
  const firstLine = (r: Reply): string => `${r.status} ${r.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80)}`;
  return [`${failed.length} of ${replies.length} failed`, ...failed.slice(0, 5).map(firstLine)];
}

describe('scale-out: tsgi on two hosts behind tsgi-edge (network namespaces)', { skip }, () => {
  const lab = new NetnsLab();
  const hosts = new Map<string, StartedProcess>();
  let edge: StartedProcess;
  let edgeSocket: string;

  async function startHost(label: string, address: string): Promise<StartedProcess> {
    const argv = [TSGI_BIN, '--master', '--processes', '2', '--gevent', '100', '--socket', `${address}:3031`, '--module', HOST_APP];
    const { command, args } = lab.exec(label, process.execPath, argv);
    const proc = await startProcess(command, args, {
      name: `tsgi@${label}`,
      cwd: REPO_ROOT,
      stopSignal: 'SIGINT',
      ready: /^\*\*\* tsgi ready: .* \*\*\*$/,
      readyTimeout: 30,
    });
    // The server really bound the host's own address, inside the host's namespace.
    assert.match(proc.output(), new RegExp(`uwsgi socket 0 bound to TCP address ${address.replace(/\./g, '\\.')}:3031 fd \\d+`));
    return proc;
  }

  before(async () => {
    await removeStaleNamespaces();
    for (const label of ['front', 'h1', 'h2']) await lab.addHost(label);
    await lab.connect('front', 'to-h1', '10.200.1.1/24', 'h1', 'eth0', `${H1}/24`);
    await lab.connect('front', 'to-h2', '10.200.2.1/24', 'h2', 'eth0', `${H2}/24`);
    const [p1, p2] = await Promise.all([startHost('h1', H1), startHost('h2', H2)]);
    hosts.set('h1', p1).set('h2', p2);

    const dir = makeTempDir('scale-out');
    edgeSocket = join(dir, 'edge.sock');
    const config = join(dir, 'edge.json');
    writeFileSync(
      config,
      JSON.stringify({
        listen: `unix:${edgeSocket}`,
        access_log: 'off',
        upstreams: {
          hosts: {
            servers: [
              { address: `${H1}:3031`, max_fails: 1, fail_timeout: '2s' },
              { address: `${H2}:3031`, max_fails: 1, fail_timeout: '2s' },
            ],
          },
        },
        // A host that does not answer a SYN within a second is taken as down for this try.
        locations: [{ prefix: '/', uwsgi_pass: 'hosts', connect_timeout: '1s', read_timeout: '5s' }],
      }),
    );
    const { command, args } = lab.exec('front', process.execPath, [EDGE_BIN, '--config', config]);
    edge = await startProcess(command, args, {
      name: 'tsgi-edge@front',
      cwd: REPO_ROOT,
      stopSignal: 'SIGTERM',
      ready: /tsgi-edge listening on /,
      readyTimeout: 30,
    });
  });

  after(async () => {
    try {
      await stopAll();
    } finally {
      await lab.destroy();
    }
  });

  test('the edge balances requests across both hosts', async () => {
    const replies = await load(edgeSocket, '/', 40, 4);
    assert.deepEqual(failures(replies), []);
    const counts = countByHost(replies);
    assert.deepEqual(Object.keys(counts).sort(), [H1, H2], `served by: ${JSON.stringify(counts)}`);
    // Round robin over two equal servers: each gets about half (10 of 40 leaves room for retries).
    assert.ok(counts[H1] >= 10 && counts[H2] >= 10, `unbalanced: ${JSON.stringify(counts)}`);
  });

  test('a host cut off from the network: connect timeouts go to the other host, and it rejoins when back', async () => {
    const mark = edge.lines().length;
    // The cable is pulled at h2; the cut is complete once the front's end has lost its carrier.
    await lab.setLink('h2', 'eth0', 'down');
    let replies: Reply[];
    try {
      await lab.waitForCarrier('front', 'to-h2', false);
      replies = await load(edgeSocket, '/', 30, 3);
    } finally {
      await lab.setLink('h2', 'eth0', 'up');
    }
    await lab.waitForCarrier('front', 'to-h2', true);
    await lab.waitForCarrier('h2', 'eth0', true);
    assert.deepEqual(failures(replies), []);
    assert.deepEqual(countByHost(replies), { [H1]: 30 });
    await edge.waitForLine(new RegExp(`upstream timed out \\(110: Connection timed out\\) while connecting to upstream.*upstream: "uwsgi://${H2}:3031"`), 5, mark);

    // Once fail_timeout (2 s) has passed the edge tries h2 again: bounded polling on its answers.
    const deadline = Date.now() + 20_000;
    let back = false;
    while (!back && Date.now() < deadline) {
      const r = await get(edgeSocket, '/');
      assert.equal(r.status, 200, r.body);
      back = r.host === H2;
      if (!back) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(back, 'h2 never served again after its link came back');
  });

  test('a host killed under load: every GET still succeeds, served by the surviving host', async () => {
    const h1 = hosts.get('h1')!;
    let killed: Promise<unknown> | undefined;
    let goneAt = Infinity;
    const total = 300;
    const replies = await load(edgeSocket, '/?sleep=0.02', total, 10, (i) => {
      if (i === 60) {
        // The whole host goes at once: master and workers (its process group), no graceful anything.
        process.kill(-h1.pid, 'SIGKILL');
        killed = h1.exited.then(() => (goneAt = performance.now()));
      }
    });
    await killed;
    assert.deepEqual(failures(replies), []);
    const counts = countByHost(replies);
    assert.ok(counts[H1] > 0 && counts[H2] > counts[H1], `served by: ${JSON.stringify(counts)}`);
    // Requests started once the host was gone were all served by the survivor.
    const late = replies.filter((r) => r.startedAt > goneAt);
    assert.ok(late.length > 100, `only ${late.length} requests after the host was gone`);
    assert.deepEqual(countByHost(late), { [H2]: late.length });
    // The edge saw h1 fail and retried those requests on h2: new connections refused, and in-flight
    // ones reset or closed (a killed process's sockets may end with RST or with FIN, as the kernel has it).
    assert.match(
      edge.output(),
      new RegExp(
        `(connect\\(\\) failed \\(111: Connection refused\\) while connecting to|recv\\(\\) failed \\(104: Connection reset by peer\\) while reading response header from|upstream prematurely closed connection while reading response header from) upstream.*upstream: "uwsgi://${H1}:3031"`,
      ),
    );
  });
});
