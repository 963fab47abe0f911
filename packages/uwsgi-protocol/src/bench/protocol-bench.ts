// Parse and encode throughput for a typical nginx request packet, against Buffer.prototype.copy of the same bytes
// in the same run (the physical baseline). Prints a table; writes JSON to $TSGI_BENCH_OUT when set.
import { writeFileSync } from 'node:fs';
import { UwsgiRequestParser, encodePacket, encodeVars, type UwsgiRequestHead } from '../index.js';

// About what nginx sends through Debian's uwsgi_params for a browser GET: 20 vars, ~700 bytes.
const VARS: [string, string][] = [
  ['QUERY_STRING', 'page=2&sort=desc&filter=active'],
  ['REQUEST_METHOD', 'GET'],
  ['CONTENT_TYPE', ''],
  ['CONTENT_LENGTH', ''],
  ['REQUEST_URI', '/api/v1/items?page=2&sort=desc&filter=active'],
  ['PATH_INFO', '/api/v1/items'],
  ['DOCUMENT_ROOT', '/usr/share/nginx/html'],
  ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REQUEST_SCHEME', 'http'],
  ['REMOTE_ADDR', '127.0.0.1'],
  ['REMOTE_PORT', '51038'],
  ['SERVER_PORT', '80'],
  ['SERVER_NAME', 'example.com'],
  ['HTTP_HOST', 'example.com'],
  ['HTTP_USER_AGENT', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'],
  ['HTTP_ACCEPT', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['HTTP_ACCEPT_LANGUAGE', 'en-US,en;q=0.9'],
  ['HTTP_ACCEPT_ENCODING', 'gzip, deflate, br'],
  ['HTTP_COOKIE', 'sessionid=8f2b1c9e0d4a4b7f9a1e2c3d4e5f6a7b; csrftoken=Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe'],
  ['HTTP_CONNECTION', 'keep-alive'],
];

const packet = encodePacket({ vars: VARS });
const target = Buffer.allocUnsafe(packet.length);
const DURATION_MS = Number(process.env.TSGI_BENCH_MS ?? 1500);

function run(name: string, fn: () => unknown): { name: string; opsPerSec: number; mbPerSec: number; nsPerOp: number } {
  // warm up, then time batches until the duration is spent
  for (let i = 0; i < 50_000; i++) fn();
  let ops = 0;
  let sink: unknown;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(DURATION_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10_000; i++) sink = fn();
    ops += 10_000;
    now = process.hrtime.bigint();
  }
  if (sink === Symbol.for('never')) console.log(sink);
  const secs = Number(now - start) / 1e9;
  const opsPerSec = ops / secs;
  return { name, opsPerSec, mbPerSec: (opsPerSec * packet.length) / 1e6, nsPerOp: 1e9 / opsPerSec };
}

const results = [
  run('Buffer.prototype.copy (baseline)', () => packet.copy(target, 0, 0, packet.length)),
  run('parse head (validate + index vars)', () => new UwsgiRequestParser().push(packet)),
  run('parse head + CONTENT_LENGTH + PATH_INFO strings', () => {
    const h = new UwsgiRequestParser().push(packet) as UwsgiRequestHead;
    return h.vars.get('PATH_INFO');
  }),
  run('parse head + full environ (all strings)', () => (new UwsgiRequestParser().push(packet) as UwsgiRequestHead).vars.toEnviron()),
  run('parse head, split in 2 chunks (copying path)', () => {
    const p = new UwsgiRequestParser();
    p.push(packet.subarray(0, 300));
    return p.push(packet.subarray(300));
  }),
  run('encodePacket (20 pairs)', () => encodePacket({ vars: VARS })),
  run('encodeVars (20 pairs)', () => encodeVars(VARS)),
];

const baseline = results[0].mbPerSec;
console.log(`uwsgi-protocol bench: ${VARS.length} vars, ${packet.length}-byte packet, Node ${process.version}, ${DURATION_MS} ms per row`);
console.log(`${'case'.padEnd(50)} ${'packets/s'.padStart(12)} ${'MB/s'.padStart(9)} ${'ns/op'.padStart(8)} ${'vs copy'.padStart(8)}`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(50)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)} ${r.mbPerSec.toFixed(0).padStart(9)} ${r.nsPerOp.toFixed(0).padStart(8)} ${(r.mbPerSec / baseline).toFixed(2).padStart(8)}`,
  );
}
if (process.env.TSGI_BENCH_OUT) {
  writeFileSync(
    process.env.TSGI_BENCH_OUT,
    `${JSON.stringify({ package: '@tsgi/uwsgi-protocol', node: process.version, packetBytes: packet.length, vars: VARS.length, results }, null, 2)}\n`,
  );
}
