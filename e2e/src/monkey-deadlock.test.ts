// The seed's psycopg deadlock through the real `tsgi` program (issue 7): without patching the two
// requests of examples/thread-local-db share the load-time connection and hang; with
// --gevent-monkey-patch each greenlet gets its own connection and both finish.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { programSkipReason, REPO_ROOT, startTsgi } from './support/index.js';

const APP = join(REPO_ROOT, 'examples', 'thread-local-db', 'app.ts');
const skip = programSkipReason('tsgi');

/** GET with a client timeout: the body, or 'timeout' when the server did not answer in time. */
async function get(url: string, seconds: number): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(seconds * 1000) });
    return await res.text();
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'timeout';
    throw error;
  }
}

/** /wait, then (once it is in its transaction) /notify, concurrently. */
async function waitAndNotify(base: string, seconds: number): Promise<[string, string]> {
  const waiting = get(`${base}/wait?key=k1`, seconds);
  // The /wait request reaches its transaction within a few ms; /notify must come second.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const notify = get(`${base}/notify?key=k1`, seconds);
  return Promise.all([waiting, notify]);
}

describe('monkey: the thread-local connection deadlock', { skip }, () => {
  test('without patching, the two requests deadlock (the client times out)', async () => {
    const tsgi = await startTsgi(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', APP]);
    try {
      const [wait, notify] = await waitAndNotify(tsgi.url, 3);
      assert.equal(wait, 'timeout');
      assert.equal(notify, 'timeout');
    } finally {
      // The hung requests keep a graceful stop waiting; the group is killed after 2 s.
      await tsgi.stop('SIGINT', 2);
    }
  });

  for (const flag of ['--gevent-monkey-patch', '--gevent-early-monkey-patch']) {
    test(`with ${flag}, each greenlet gets its own connection and both finish`, async () => {
      const tsgi = await startTsgi(['--gevent', '10', '--http-socket', '127.0.0.1:0', '--module', APP, flag]);
      try {
        const [wait, notify] = await waitAndNotify(tsgi.url, 20);
        assert.match(wait, /^wait k1 done on connection \d+ \(own\)\n$/);
        assert.match(notify, /^notify k1 done on connection \d+ \(own\)\n$/);
      } finally {
        await tsgi.stop('SIGINT', 20);
      }
    });
  }
});
