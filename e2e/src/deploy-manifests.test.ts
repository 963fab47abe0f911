// deploy/: the Kubernetes manifests pass strict schema checks (kubectl --dry-run=client level), the
// systemd units pass `systemd-analyze verify`, and the ini/edge configs they ship really start tsgi and
// tsgi-edge and serve a request through both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { hasBinary, makeTempDir, programSkipReason, REPO_ROOT, startProcess, stopAll } from './support/index.js';
import { formatProblems, readManifests, validateManifests, type ManifestDocument } from './scale-out/kubernetes-manifests.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const K8S_DIR = join(DEPLOY, 'kubernetes');
const SYSTEMD_DIR = join(DEPLOY, 'systemd');
const HOST_APP = fileURLToPath(new URL('./scale-out/host-app.js', import.meta.url));
const TSGI_BIN = join(REPO_ROOT, 'apps', 'tsgi', 'bin', 'tsgi.js');
const EDGE_BIN = join(REPO_ROOT, 'apps', 'edge', 'bin', 'tsgi-edge.js');

after(stopAll);

const manifestFiles = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(K8S_DIR, f));

function loadManifests(): ManifestDocument[] {
  const { documents, problems } = readManifests(manifestFiles);
  assert.equal(formatProblems(problems), '');
  return documents;
}

function find(docs: readonly ManifestDocument[], kind: string): any {
  const doc = docs.find((d) => d.value.kind === kind);
  assert.ok(doc, `no ${kind} in deploy/kubernetes`);
  return doc.value;
}

/** The `key = value` pairs of an ini's [uwsgi] section. */
function iniValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([\w-]+)\s*=\s*(.*)$/.exec(line);
    if (m) values.set(m[1], m[2]);
  }
  return values;
}

describe('deploy/kubernetes: strict schema validation', () => {
  test('every document of every manifest validates against the schema of its kind', async () => {
    const docs = loadManifests();
    assert.deepEqual(docs.map((d) => d.value.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);
    assert.equal(formatProblems(await validateManifests(docs)), '');
  });

  // Each break must be caught, or the check above could pass vacuously.
  const breaks: { what: string; mutate: (d: any) => void; expect: RegExp }[] = [
    { what: 'an unknown container field (typo)', mutate: (d) => (d.spec.template.spec.containers[0].readinesProbe = { tcpSocket: { port: 1 } }), expect: /readinesProbe/ },
    { what: 'an unknown pod spec field', mutate: (d) => (d.spec.template.spec.terminationGracePeriod = 60), expect: /terminationGracePeriod\b/ },
    { what: 'replicas as a string', mutate: (d) => (d.spec.replicas = '3'), expect: /replicas/ },
    { what: 'a container port as a string', mutate: (d) => (d.spec.template.spec.containers[1].ports[0].containerPort = '8080'), expect: /containerPort/ },
    { what: 'a protocol outside the enum', mutate: (d) => (d.spec.template.spec.containers[0].ports[0].protocol = 'TCPX'), expect: /protocol|allowed values|TCPX/ },
    { what: 'a container without its required name', mutate: (d) => delete d.spec.template.spec.containers[0].name, expect: /name/ },
    { what: 'a probe port of the wrong shape', mutate: (d) => (d.spec.template.spec.containers[0].livenessProbe.httpGet.port = { name: 'stats' }), expect: /port/ },
  ];
  for (const b of breaks) {
    test(`a Deployment with ${b.what} fails validation`, async () => {
      const docs = loadManifests();
      const deployment = docs.find((d) => d.value.kind === 'Deployment')!;
      const broken = { ...deployment, value: structuredClone(deployment.value) };
      b.mutate(broken.value);
      const problems = await validateManifests([broken]);
      assert.ok(problems.length > 0, `${b.what} passed validation`);
      assert.match(formatProblems(problems), b.expect);
    });
  }

  test('deploy/validate-manifests.mjs: exit 0 on the shipped manifests, 1 with the problem on a broken copy', async () => {
    const script = join(DEPLOY, 'validate-manifests.mjs');
    const ok = await execText(process.execPath, [script]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /4 documents in 3 files: valid/);
    const broken = join(makeTempDir('manifests'), 'deployment.yaml');
    writeFileSync(broken, readFileSync(join(K8S_DIR, 'deployment.yaml'), 'utf8').replace('livenessProbe:', 'livenessProbes:'));
    const bad = await execText(process.execPath, [script, broken]);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /deployment\.yaml#0 \(Deployment\): .*livenessProbes/);
  });

  test('a kind without a schema is reported, not skipped', async () => {
    const problems = await validateManifests([{ file: 'x.yaml', document: 0, value: { apiVersion: 'v1', kind: 'Deploymnet', metadata: { name: 'x' } } }]);
    assert.match(formatProblems(problems), /no schema for v1 Deploymnet/);
  });
});

describe('deploy/kubernetes: the pod terminates gracefully and is probed where tsgi listens', () => {
  const docs = loadManifests();
  const deployment = find(docs, 'Deployment');
  const configMap = find(docs, 'ConfigMap');
  const service = find(docs, 'Service');
  const pod = deployment.spec.template.spec;
  const tsgi = pod.containers.find((c: any) => c.name === 'tsgi');
  const edge = pod.containers.find((c: any) => c.name === 'tsgi-edge');
  const ini = iniValues(configMap.data['app.ini']);
  const edgeConfig = parseYaml(configMap.data['edge.yaml']);

  test('terminationGracePeriodSeconds covers the preStop pause plus --worker-reload-mercy', () => {
    const preStop = Number(tsgi.lifecycle.preStop.exec.command[1]);
    const edgePreStop = Number(edge.lifecycle.preStop.exec.command[1]);
    assert.ok(preStop > edgePreStop, 'tsgi must outlive the edge, which still sends it the in-flight requests');
    assert.ok(pod.terminationGracePeriodSeconds > preStop + Number(ini.get('worker-reload-mercy')));
  });

  test('probes hit the stats HTTP endpoint on a port the ini binds on the pod IP', () => {
    assert.equal(ini.get('stats-http'), 'true');
    const [host, port] = ini.get('stats')!.split(':');
    assert.equal(host, '0.0.0.0', 'kubelet probes come from outside the pod: a bare :PORT binds loopback only');
    const statsPort = tsgi.ports.find((p: any) => p.name === 'stats');
    assert.equal(statsPort.containerPort, Number(port));
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) assert.equal(tsgi[probe].httpGet.port, 'stats', probe);
  });

  test('the edge reaches tsgi through the socket in the shared volume, and the Service reaches the edge', () => {
    const socket = ini.get('socket')!;
    assert.deepEqual(edgeConfig.upstreams.app.servers.map((s: any) => s.address), [`unix:${socket}`]);
    const mountOf = (c: any) => c.volumeMounts.find((m: any) => socket.startsWith(m.mountPath + '/'));
    assert.ok(mountOf(tsgi) && mountOf(edge) && mountOf(tsgi).name === mountOf(edge).name, 'socket directory shared by both containers');
    assert.ok(pod.volumes.find((v: any) => v.name === mountOf(tsgi).name).emptyDir);
    const edgePort = edge.ports.find((p: any) => p.name === service.spec.ports[0].targetPort);
    assert.equal(edgePort.containerPort, Number(String(edgeConfig.listen).split(':').pop()));
  });
});

function execText(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const SYSTEMD_ANALYZE = hasBinary('systemd-analyze');

/** `systemd-analyze verify` output lines, less the one about our binary not being installed on this machine. */
async function verifyUnit(path: string): Promise<string[]> {
  const { out } = await execText(SYSTEMD_ANALYZE!, ['verify', '--man=no', path]);
  return out
    .split('\n')
    .filter(Boolean)
    .filter((line) => {
      const m = /Command (\/usr\/local\/bin\/tsgi(?:-edge)?) is not executable: No such file or directory/.exec(line);
      return !(m && !existsSync(m[1]));
    });
}

describe('deploy/systemd: units', () => {
  const units = ['tsgi.service', 'tsgi-edge.service'];
  const skip = SYSTEMD_ANALYZE ? undefined : 'systemd-analyze is missing: apt-get install systemd';

  for (const unit of units) {
    test(`systemd-analyze verify ${unit}: no warning`, { skip }, async () => {
      assert.deepEqual(await verifyUnit(join(SYSTEMD_DIR, unit)), []);
    });
  }

  test('systemd-analyze verify flags a broken copy (unknown key, bad value)', { skip }, async () => {
    const dir = makeTempDir('units');
    const broken = join(dir, 'tsgi.service');
    writeFileSync(broken, readFileSync(join(SYSTEMD_DIR, 'tsgi.service'), 'utf8').replace(/^KillMode=mixed$/m, 'KillMode=mixd\nRestartOn=failure'));
    const lines = (await verifyUnit(broken)).join('\n');
    assert.match(lines, /kill mode.*mixd/i);
    assert.match(lines, /Unknown key 'RestartOn'/);
  });

  test('the units drain on SIGTERM, reload on SIGHUP, restart on failure, keep the socket under /run', () => {
    const keys = (unit: string): Map<string, string> => iniValues(readFileSync(join(SYSTEMD_DIR, unit), 'utf8'));
    const tsgi = keys('tsgi.service');
    const edge = keys('tsgi-edge.service');
    for (const k of [tsgi, edge]) {
      assert.equal(k.get('Type'), 'simple');
      assert.equal(k.get('KillSignal'), 'SIGTERM');
      assert.equal(k.get('ExecReload'), '/bin/kill -HUP $MAINPID');
      assert.equal(k.get('Restart'), 'on-failure');
    }
    assert.equal(tsgi.get('KillMode'), 'mixed', 'SIGTERM to the master only; it drains the workers');
    const ini = iniValues(readFileSync(join(SYSTEMD_DIR, 'app.ini'), 'utf8'));
    assert.match(tsgi.get('ExecStart')!, /--ini \/etc\/tsgi\/app\.ini$/);
    assert.equal(ini.get('socket'), `/run/${tsgi.get('RuntimeDirectory')}/app.sock`);
    assert.ok(Number(tsgi.get('TimeoutStopSec')) > Number(ini.get('worker-reload-mercy')));
    const edgeYaml = parseYaml(readFileSync(join(SYSTEMD_DIR, 'edge.yaml'), 'utf8'));
    assert.deepEqual(edgeYaml.upstreams.app.servers.map((s: any) => s.address), [`unix:${ini.get('socket')}`]);
    assert.equal(edge.get('SupplementaryGroups'), tsgi.get('Group'));
  });
});

function getUnix(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

/**
 * Runs the shipped ini and edge config with only machine paths swapped (app, socket, ports, logs), and
 * sends one request through tsgi-edge to tsgi. Every other key is what users get.
 */
async function serveThrough(iniText: string, edgeYamlText: string, label: string): Promise<void> {
  const dir = makeTempDir(`deploy-${label}`);
  const socket = join(dir, 'app.sock');
  const ini = iniText
    .replace(/^chdir\s*=.*$/m, `chdir = ${dir}`)
    .replace(/^module\s*=.*$/m, `module = ${HOST_APP}`)
    .replace(/^socket\s*=.*$/m, `socket = ${socket}`)
    .replace(/^stats\s*=.*$/m, 'stats = 127.0.0.1:0');
  writeFileSync(join(dir, 'app.ini'), ini);
  const tsgi = await startProcess(process.execPath, [TSGI_BIN, '--ini', join(dir, 'app.ini')], {
    name: `tsgi (${label} app.ini)`,
    stopSignal: 'SIGTERM',
    ready: /^\*\*\* tsgi ready: .* \*\*\*$/,
    readyTimeout: 30,
  });
  const stats = /stats server enabled on (?:http:\/\/)?(\S+)/i.exec(tsgi.output());
  assert.ok(stats, `tsgi printed no stats line:\n${tsgi.output()}`);
  const probe = await getUnix(`http://${stats[1]}/`);
  assert.equal(probe.status, 200, 'the probes endpoint answers');
  assert.ok(JSON.parse(probe.body).workers.length >= 1);

  const edgeConfig = parseYaml(edgeYamlText);
  edgeConfig.listen = '127.0.0.1:0';
  edgeConfig.access_log = 'off';
  edgeConfig.error_log = '-';
  edgeConfig.upstreams.app.servers[0].address = `unix:${socket}`;
  for (const location of edgeConfig.locations) if (location.static) location.static = dir;
  const edgePath = join(dir, 'edge.json');
  writeFileSync(edgePath, JSON.stringify(edgeConfig));
  const check = await execText(process.execPath, [EDGE_BIN, '--config', edgePath, '-t']);
  assert.equal(check.code, 0, check.out);
  const edge = await startProcess(process.execPath, [EDGE_BIN, '--config', edgePath], {
    name: `tsgi-edge (${label} edge.yaml)`,
    ready: /tsgi-edge listening on (http:\/\/\S+)/,
    readyTimeout: 30,
  });
  const url = /tsgi-edge listening on (http:\/\/\S+)/.exec(edge.output())![1];
  const reply = await getUnix(`${url}/hello`);
  assert.equal(reply.status, 200, reply.body);
  assert.match(reply.body, /^served by .* pid \d+/);
  await edge.stop();
  await tsgi.stop();
}

describe('deploy: the shipped configs run', { skip: programSkipReason('tsgi', 'tsgi-edge') }, () => {
  test('systemd: app.ini starts tsgi and edge.yaml serves it', async () => {
    await serveThrough(readFileSync(join(SYSTEMD_DIR, 'app.ini'), 'utf8'), readFileSync(join(SYSTEMD_DIR, 'edge.yaml'), 'utf8'), 'systemd');
  });

  test('kubernetes: the ConfigMap app.ini starts tsgi and its edge.yaml serves it', async () => {
    const configMap = find(loadManifests(), 'ConfigMap');
    await serveThrough(configMap.data['app.ini'], configMap.data['edge.yaml'], 'kubernetes');
  });
});
