import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { httpGetChunks, type HttpChunksResult } from '../support/index.js';

/** A front and an app server, started and reachable over HTTP. */
export interface InteropPair {
  /** `http://127.0.0.1:PORT` of the front; the interop app is mounted at its root. */
  baseUrl: string;
  stop(): Promise<unknown>;
}

export interface InteropSuiteOptions {
  /** Whether the front buffers responses (nginx `uwsgi_buffering on`): decides what "streams" means. */
  buffering: boolean;
  /** A reason to skip the whole suite (a missing peer or program), printed by the test runner. */
  skip?: string;
}

/**
 * The routes every app server under test serves (e2e/reference/interop.py for real uWSGI; the same
 * routes in TypeScript for tsgi), relative to the front's root.
 */
export const INTEROP_ROUTES = {
  crazy: '/crazy',
  echo: '/echo',
  headers: '/headers',
  notFound: '/status/404',
  serverError: '/status/500',
} as const;

/** The crazy example's 3 s sleep, with slack for a loaded 2-core machine. */
const SLEEP = 3;
const EARLY = 2.0;
const SLEEP_AT_LEAST = 2.5;

/** Headers with unusual but legal values; each must reach the app as it was sent. */
export const ODD_HEADERS: Record<string, string> = {
  'X-Punctuation': `!#$%&'*+-.^_\`|~ "quoted" (paren) [bracket] {brace} <angle> ;=,/?@:\\`,
  'X-Inner-Space': 'a  b\tc   d',
  'X-Long': 'L'.repeat(1000) + '0123456789',
  'X-Obs-Text': 'caf\u00e9 na\u00efve',
  'X-Digits-123': '0',
  'X-Looks-Like-Json': '{"a":[1,2,{"b":null}]}',
};

const envKey = (name: string): string => 'HTTP_' + name.toUpperCase().replace(/-/g, '_');

function text(res: HttpChunksResult): string {
  return res.body.toString('latin1');
}

function describeChunks(res: HttpChunksResult): string {
  return res.chunks.map((c) => `${c.at.toFixed(3)}s ${JSON.stringify(c.data.toString())}`).join('; ');
}

/**
 * Defines one node:test suite named `pairName` that starts the pair once (`start`), runs every
 * interop check against it, and stops it. Run the same list against several pairs so each
 * difference between them shows up as a failing row.
 */
export function defineInteropSuite(pairName: string, start: () => Promise<InteropPair>, options: InteropSuiteOptions): void {
  describe(`interop: ${pairName}`, { skip: options.skip }, () => {
    let pair: InteropPair | undefined;
    before(async () => {
      pair = await start();
    });
    after(async () => {
      await pair?.stop();
    });
    const url = (path: string): string => {
      assert.ok(pair, `the pair ${pairName} did not start`);
      return pair.baseUrl + path;
    };

    if (options.buffering) {
      it('the crazy example arrives all at once, after the 3 s sleep (buffering on)', async () => {
        const res = await httpGetChunks(url(INTEROP_ROUTES.crazy), { timeout: SLEEP + 20 });
        assert.equal(res.status, 200);
        assertCrazyBody(text(res));
        const first = res.chunks[0];
        assert.ok(first.at >= SLEEP_AT_LEAST, `the first body bytes came at ${first.at.toFixed(3)} s, before the sleep ended: ${describeChunks(res)}`);
        assert.match(first.data.toString(), /sleeping for 3 seconds\.\.\.\ndone\n/, `the front did not hold the body back: ${describeChunks(res)}`);
        assert.ok(res.headersAt >= SLEEP_AT_LEAST, `headers came at ${res.headersAt.toFixed(3)} s; a buffering front holds them too`);
      });
    } else {
      it('the crazy example streams: "sleeping for 3 seconds..." arrives before the sleep ends', async () => {
        const res = await httpGetChunks(url(INTEROP_ROUTES.crazy), { timeout: SLEEP + 20 });
        assert.equal(res.status, 200);
        assertCrazyBody(text(res));
        const first = res.chunks[0];
        assert.equal(first.data.toString(), 'sleeping for 3 seconds...\n', `first chunk: ${describeChunks(res)}`);
        assert.ok(first.at < EARLY, `the first chunk came at ${first.at.toFixed(3)} s: ${describeChunks(res)}`);
        const done = res.chunks.find((c) => c.data.toString().includes('done'));
        assert.ok(done && done.at - first.at >= SLEEP_AT_LEAST, `"done" must follow the 3 s sleep: ${describeChunks(res)}`);
      });
    }

    it('a 10 MB POST body arrives intact (length and sha256)', async () => {
      const body = randomBytes(10 * 1024 * 1024);
      const res = await httpGetChunks(url(INTEROP_ROUTES.echo), {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) },
        timeout: 60,
      });
      assert.equal(res.status, 200, text(res).slice(0, 500));
      const seen = JSON.parse(text(res)) as { length: number; sha256: string };
      assert.deepEqual(seen, { length: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    });

    it('headers with unusual but legal values reach the app unchanged', async () => {
      const res = await httpGetChunks(url(INTEROP_ROUTES.headers), { headers: ODD_HEADERS });
      assert.equal(res.status, 200, text(res).slice(0, 500));
      // The app's JSON holds the header bytes decoded as latin-1, as WSGI decodes them.
      const seen = JSON.parse(res.body.toString('utf8')) as Record<string, string>;
      for (const [name, value] of Object.entries(ODD_HEADERS)) {
        assert.equal(seen[envKey(name)], value, `${name} reached the app as ${JSON.stringify(seen[envKey(name)])}`);
      }
    });

    it('a 404 from the app passes through with its body and headers', async () => {
      const res = await httpGetChunks(url(INTEROP_ROUTES.notFound));
      assert.equal(res.status, 404);
      assert.equal(text(res), 'no such thing\n');
      assert.equal(res.headers['x-reference-status'], '404');
    });

    it('a 500 from the app passes through with its body and headers', async () => {
      const res = await httpGetChunks(url(INTEROP_ROUTES.serverError));
      assert.equal(res.status, 500);
      assert.equal(text(res), 'the app says it failed\n');
      assert.equal(res.headers['x-reference-status'], '500');
    });
  });
}

/**
 * The crazy example's whole body. The failed lookup's value prints as the language's "nothing"
 * (Python `None`, JavaScript `null`/`undefined`): the one line where the ports may differ.
 */
export function assertCrazyBody(body: string): void {
  const lines = body.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['sleeping for 3 seconds...', 'done', 'getting some ips...'], body);
  assert.deepEqual(lines.slice(3, 6), ['ip = 127.0.0.1', 'ip = 127.0.0.1', 'ip = 127.0.0.1'], body);
  assert.match(lines[6], /^ip = (None|null|undefined)$/, body);
  assert.deepEqual(lines.slice(7), [''], body);
}
