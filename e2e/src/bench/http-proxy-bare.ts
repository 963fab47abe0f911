// http-proxy-3 used bare, the way its README starts: one ProxyServer with a target, in front of an HTTP
// upstream, with nothing else (no buffering, no logs, no balancing), plus a keep-alive http.Agent keeping up
// to IDLE connections. `node http-proxy-bare.js UPSTREAM_PORT IDLE` listens on 127.0.0.1 port 0 and prints
// "http-proxy-bare listening on PORT". The package is the one tsgi-edge depends on, resolved from apps/edge,
// so both sides run the same version.
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

interface ProxyServerLike {
  web(req: IncomingMessage, res: ServerResponse): void;
  on(event: 'error', listener: (err: Error, req: IncomingMessage, res: ServerResponse) => void): void;
}

const upstreamPort = Number(process.argv[2]);
const idle = Number(process.argv[3]);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0 || !Number.isInteger(idle) || idle <= 0) {
  console.error('usage: http-proxy-bare.js UPSTREAM_PORT IDLE_CONNECTIONS');
  process.exit(2);
}
const edgeRequire = createRequire(new URL('../../../apps/edge/package.json', import.meta.url));
const { ProxyServer } = edgeRequire('http-proxy-3') as { ProxyServer: new (options: { target: string; agent: Agent }) => ProxyServerLike };
const proxy = new ProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent: new Agent({ keepAlive: true, maxFreeSockets: idle }) });
proxy.on('error', (_err, _req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.listen(0, '127.0.0.1', () => {
  console.log(`http-proxy-bare listening on ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
