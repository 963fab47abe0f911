// The tsgi app of the chunk-latency scenario: the head and a first line at once, then, after a short sleep,
// a line carrying the moment it was yielded (performance.timeOrigin + performance.now(), ms since the epoch
// with microseconds). A client that reads the line subtracts it from its own clock: that is how long one
// streamed chunk took from the app's yield to the client, through whatever stands between.
import type { Environ, StartResponse } from '@tsgi/server';

export async function* application(_environ: Environ, startResponse: StartResponse): AsyncGenerator<string> {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  yield 'ready\n';
  await new Promise((resolve) => setTimeout(resolve, 2));
  yield `${(performance.timeOrigin + performance.now()).toFixed(3)}\n`;
}
