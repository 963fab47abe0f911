import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<Error & { code: string; logText?: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { code: string };
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`, { cause: e });
    return e;
  }
  throw new Error(`expected a rejection with ${code}`);
}

export interface Fixture {
  name: string;
  description: string;
  nginx: string;
  serverName: string;
  documentRoot: string;
  listenPort: number;
  request: string;
  bytes: Buffer;
}

export const FIXTURE_NAMES = ['get-query-stock', 'post-body-debian', 'odd-headers-stock', 'post-chunked-debian'];

export function loadFixture(name: string): Fixture {
  const dir = new URL('../fixtures/', import.meta.url);
  const meta = JSON.parse(readFileSync(new URL(`nginx-${name}.json`, dir), 'utf8')) as Omit<Fixture, 'bytes'>;
  return { ...meta, bytes: readFileSync(new URL(`nginx-${name}.bin`, dir)) };
}

/** A loopback TCP server on an ephemeral port whose connections are all destroyed by close(). */
export async function rawServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close: () => Promise<void>; server: net.Server }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A deterministic PRNG (mulberry32) so failures can be replayed from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
