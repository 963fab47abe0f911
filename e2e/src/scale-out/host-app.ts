// The app each scale-out "host" serves: it answers with the address of the network interface it runs
// behind, so a response proves which namespace (host) served it, not just which process.
import { networkInterfaces } from 'node:os';
import { sleep } from '@tsgi/hub';
import type { Environ, StartResponse } from '@tsgi/server';

/** The host's own non-loopback IPv4 addresses, as the kernel of its namespace reports them. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

export async function* application(environ: Environ, startResponse: StartResponse): AsyncGenerator<string> {
  const seconds = Number(new URLSearchParams(environ.QUERY_STRING).get('sleep') ?? '0');
  // Keeps the request in flight for a while, so a host killed under load has requests on it.
  if (seconds > 0) await sleep(seconds);
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  yield `served by ${hostAddresses().join(',')} pid ${process.pid}\n`;
}
