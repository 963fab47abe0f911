import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isUwsgiProtocolError, ping, sendSignal, uwsgiRequest } from '@tsgi/uwsgi-protocol';
import { type UwsgiInstance, startUwsgi, uwsgiMissingReason } from './protocol-support/uwsgi-instance.js';

const APP = `
import sys
import uwsgi

def on_signal(num):
    sys.stderr.write("tsgi-e2e: signal %d handled\\n" % num)
    sys.stderr.flush()

if uwsgi.masterpid():
    uwsgi.register_signal(17, "worker", on_signal)

def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Parts", "3"), ("x-Lower-Case", "kept")])
        def parts():
            for i in range(3):
                yield ("part%d;" % i).encode()
        return parts()
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("X-Method", environ["REQUEST_METHOD"]), ("X-Query", environ["QUERY_STRING"]), ("X-Length", str(len(body)))])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"nope"]
`;

const skip = uwsgiMissingReason();

function vars(method: string, path: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REQUEST_METHOD: method,
    PATH_INFO: path,
    QUERY_STRING: '',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: 'e2e.local',
    SERVER_PORT: '80',
    REMOTE_ADDR: '127.0.0.1',
    CONTENT_LENGTH: '',
    ...extra,
  };
}

async function text(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('uwsgiRequest against real uWSGI (python3 plugin, no master)', { skip: skip ?? false, timeout: 60_000 }, () => {
  let uwsgi: UwsgiInstance;
  before(async () => {
    uwsgi = await startUwsgi(APP, ['--plugins', 'python3', '--processes', '1'], /WSGI app 0 \(mountpoint=''\) ready/);
  });
  after(async () => {
    await uwsgi?.stop();
  });

  it('status, raw headers and a streamed body come back right', async () => {
    const res = await uwsgiRequest({ path: uwsgi.socketPath }, { vars: vars('GET', '/stream') });
    assert.equal(res.status, 200);
    assert.equal(res.statusText, 'OK');
    assert.equal(res.httpVersion, '1.1');
    assert.equal(res.framing, 'close');
    assert.deepEqual(res.headers, [
      ['Content-Type', 'text/plain'],
      ['X-Parts', '3'],
      ['x-Lower-Case', 'kept'],
    ]);
    assert.equal((await text(res.body)).toString(), 'part0;part1;part2;');
  });

  it('a 2 MiB streamed request body reaches wsgi.input intact and is echoed back', async () => {
    const size = 2 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
    async function* chunks() {
      for (let i = 0; i < size; i += 65536) yield data.subarray(i, i + 65536);
    }
    const res = await uwsgiRequest({ path: uwsgi.socketPath }, { vars: vars('POST', '/echo', { CONTENT_LENGTH: String(size), QUERY_STRING: 'a=1' }), body: Readable.from(chunks()) });
    assert.equal(res.status, 200);
    const headers = Object.fromEntries(res.headers);
    assert.deepEqual([headers['X-Method'], headers['X-Query'], headers['X-Length']], ['POST', 'a=1', String(size)]);
    const echoed = await text(res.body);
    assert.equal(createHash('sha256').update(echoed).digest('hex'), createHash('sha256').update(data).digest('hex'));
  });

  it('a 404 from the app is a response, not an error', async () => {
    const res = await uwsgiRequest({ path: uwsgi.socketPath }, { vars: vars('GET', '/missing') });
    assert.equal(res.status, 404);
    assert.equal((await text(res.body)).toString(), 'nope');
  });

  it('without the signal plugin uWSGI closes on modifier1 110: sendSignal reports it undelivered', async () => {
    await assert.rejects(sendSignal({ path: uwsgi.socketPath }, 17), (e: unknown) => isUwsgiProtocolError(e) && e.code === 'TSGI_ERR_UWSGI_SIGNAL_UNDELIVERED');
    await uwsgi.waitForLog(/-- unavailable modifier requested: 110 --/);
  });
});

describe('sendSignal / ping against real uWSGI (--master, gevent, signal and ping plugins)', { skip: skip ?? false, timeout: 60_000 }, () => {
  let uwsgi: UwsgiInstance;
  before(async () => {
    uwsgi = await startUwsgi(APP, ['--plugins', 'python3,gevent_python3,signal,ping', '--master', '--processes', '1', '--gevent', '10'], /spawned uWSGI worker 1/);
  });
  after(async () => {
    await uwsgi?.stop();
  });

  it('a registered signal is delivered ({255,0,0,1}) and its handler runs', async () => {
    assert.equal(await sendSignal({ path: uwsgi.socketPath }, 17), 'delivered');
    await uwsgi.waitForLog(/tsgi-e2e: signal 17 handled/);
  });

  it('ping gets a pong with no warning', async () => {
    assert.deepEqual(await ping({ path: uwsgi.socketPath }), { warning: '' });
  });

  it('requests still work under the gevent loop engine', async () => {
    const res = await uwsgiRequest({ path: uwsgi.socketPath }, { vars: vars('GET', '/stream') });
    assert.equal((await text(res.body)).toString(), 'part0;part1;part2;');
  });
});
