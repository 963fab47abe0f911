// The raw Node baseline: http.createServer hello world with Content-Length and keep-alive, as the
// reference rig ran it. Listens on 127.0.0.1 port 0 and prints "node-hello listening on PORT".
import { createServer } from 'node:http';

const body = Buffer.from('Hello World');
const server = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`node-hello listening on ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
