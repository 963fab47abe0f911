#!/usr/bin/env node
// `pnpm start`: tsgi serving examples/crazy on a uwsgi socket, with tsgi-edge in front of it
// (`uwsgi_buffering off`, so the stream shows chunk by chunk). Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const uwsgiPort = process.env.TSGI_DEMO_UWSGI_PORT ?? '3031';
const httpPort = process.env.TSGI_DEMO_HTTP_PORT ?? '8080';
const children = [];
let stopping = false;

function run(name, args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    console.error(`${name} exited (${signal ?? code})`);
    if (!stopping) for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
    stopping = true;
    process.exitCode = code ?? 1;
  });
  children.push(child);
  return child;
}

run('tsgi', ['apps/tsgi/bin/tsgi.js', '--master', '--gevent', '100', '--socket', `127.0.0.1:${uwsgiPort}`, '--module', 'examples/crazy/app.ts']);
run('tsgi-edge', ['apps/edge/bin/tsgi-edge.js', '--listen', `127.0.0.1:${httpPort}`, '--uwsgi-pass', `127.0.0.1:${uwsgiPort}`, '--buffering', 'off']);
console.error(`\n  the crazy example: curl -N http://127.0.0.1:${httpPort}/   (Ctrl-C stops tsgi and tsgi-edge)\n`);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill(sig);
  });
}
