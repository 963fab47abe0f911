#!/usr/bin/env node
// Captures what Debian's nginx really sends over `uwsgi_pass`: starts nginx on loopback with its own temp prefix,
// config and pid file, points it at a raw Node listener that records every byte of each upstream connection, sends a
// few hand-written HTTP requests, and saves the bytes as src/fixtures/nginx-<name>.bin plus a .json describing the
// request. Run it again after an nginx upgrade; the unit tests decode whatever it saved.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'src', 'fixtures');
const nginxBin = process.env.NGINX ?? '/usr/sbin/nginx';
// nginx -v prints to stderr
const nginxVersion = spawnSync(nginxBin, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '');

// The stock conf/uwsgi_params, one line each, as nginx ships it (Debian's adds HTTP_HOST $host after these).
const STOCK_PARAMS = `
  uwsgi_param QUERY_STRING $query_string; uwsgi_param REQUEST_METHOD $request_method;
  uwsgi_param CONTENT_TYPE $content_type; uwsgi_param CONTENT_LENGTH $content_length;
  uwsgi_param REQUEST_URI $request_uri; uwsgi_param PATH_INFO $document_uri;
  uwsgi_param DOCUMENT_ROOT $document_root; uwsgi_param SERVER_PROTOCOL $server_protocol;
  uwsgi_param REQUEST_SCHEME $scheme; uwsgi_param HTTPS $https if_not_empty;
  uwsgi_param REMOTE_ADDR $remote_addr; uwsgi_param REMOTE_PORT $remote_port;
  uwsgi_param SERVER_PORT $server_port; uwsgi_param SERVER_NAME $server_name;`;

const REQUESTS = [
  {
    name: 'get-query-stock',
    description: 'GET with a query, an encoded and un-normalised path, duplicate headers, a Cookie pair and an underscore header (stock uwsgi_params)',
    request:
      'GET /stock/a%20b//c/./d/../e?q=1&r=two%41 HTTP/1.1\r\nHost: fixtures.example:8080\r\nUser-Agent: capture/1\r\nAccept: */*\r\n' +
      'X-Dup: one\r\nx-dup: two\r\nCookie: a=1\r\nCookie: b=2\r\nX_Under: dropped\r\nConnection: close\r\n\r\n',
  },
  {
    name: 'post-body-debian',
    description: "POST with an 11-byte form body through Debian's /etc/nginx/uwsgi_params (HTTP_HOST $host)",
    request:
      'POST /debian/form HTTP/1.1\r\nHost: Fixtures.Example:8080\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n' +
      'Connection: close\r\n\r\nhello=world',
  },
  {
    name: 'odd-headers-stock',
    description: 'GET with mixed-case, empty-valued, latin1 and long header values, HTTP/1.0 (stock uwsgi_params)',
    request:
      'GET /stock/odd HTTP/1.0\r\nHost: fixtures.example\r\nx-MiXeD-Case: Yes\r\nX-Empty:\r\nX-Latin1: caf\u00e9\r\n' +
      `X-Long: ${'L'.repeat(600)}\r\nX.Dot: dropped\r\n\r\n`,
  },
  {
    name: 'post-chunked-debian',
    description: 'POST with a chunked request body: nginx buffers it and sends a CONTENT_LENGTH (Debian uwsgi_params)',
    request:
      'POST /debian/chunked HTTP/1.1\r\nHost: fixtures.example\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n' +
      '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port, deadline) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function sendRaw(port, request) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const chunks = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    c.on('error', reject);
    c.setTimeout(10000, () => c.destroy(new Error('timeout talking to nginx')));
    c.write(Buffer.from(request, 'latin1'));
  });
}

const prefix = mkdtempSync(join(tmpdir(), 'tsgi-capture-'));
const upstreamBytes = [];
const upstream = net.createServer((socket) => {
  const chunks = [];
  socket.on('data', (d) => {
    chunks.push(d);
    const all = Buffer.concat(chunks);
    if (all.length < 4) return;
    const datasize = all[1] | (all[2] << 8);
    if (all.length < 4 + datasize) return;
    // walk the vars for CONTENT_LENGTH, to know when the body is complete
    let need = 0;
    for (let p = 4; p < 4 + datasize; ) {
      const kl = all[p] | (all[p + 1] << 8);
      const key = all.toString('latin1', p + 2, p + 2 + kl);
      p += 2 + kl;
      const vl = all[p] | (all[p + 1] << 8);
      const val = all.toString('latin1', p + 2, p + 2 + vl);
      p += 2 + vl;
      if (key === 'CONTENT_LENGTH' && val !== '') need = Number(val);
    }
    if (all.length < 4 + datasize + need) return;
    upstreamBytes.push(all);
    socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ncaptured');
  });
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamPort = upstream.address().port;
const listenPort = await freePort();
for (const d of ['html', 'logs', 'tmp']) mkdirSync(join(prefix, d));
const conf = `
daemon off; master_process off; worker_processes 1;
pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body; proxy_temp_path ${prefix}/tmp/proxy; fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${listenPort}; server_name fixtures.local; root ${prefix}/html;
    location /stock/ { ${STOCK_PARAMS} uwsgi_pass 127.0.0.1:${upstreamPort}; }
    location /debian/ { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:${upstreamPort}; }
  }
}`;
writeFileSync(join(prefix, 'nginx.conf'), conf);
const nginx = spawn(nginxBin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs', 'error.log')], { stdio: 'inherit' });
const stop = () => {
  if (nginx.exitCode === null) nginx.kill('SIGQUIT');
};
process.on('exit', stop);
try {
  await waitForPort(listenPort, Date.now() + 10000);
  mkdirSync(outDir, { recursive: true });
  for (const r of REQUESTS) {
    upstreamBytes.length = 0;
    const reply = await sendRaw(listenPort, r.request);
    if (upstreamBytes.length !== 1) throw new Error(`${r.name}: expected one upstream connection, got ${upstreamBytes.length}; nginx replied ${reply.slice(0, 200)}`);
    writeFileSync(join(outDir, `nginx-${r.name}.bin`), upstreamBytes[0]);
    writeFileSync(
      join(outDir, `nginx-${r.name}.json`),
      `${JSON.stringify({ name: r.name, description: r.description, nginx: nginxVersion, serverName: 'fixtures.local', documentRoot: `${prefix}/html`, listenPort, request: r.request, reply: reply.split('\r\n')[0] }, null, 2)}\n`,
    );
    console.log(`${r.name}: ${upstreamBytes[0].length} bytes (nginx replied ${reply.split('\r\n')[0]})`);
  }
} finally {
  stop();
  await new Promise((r) => (nginx.exitCode !== null ? r() : nginx.once('exit', r)));
  upstream.close();
  rmSync(prefix, { recursive: true, force: true });
}
