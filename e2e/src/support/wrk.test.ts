import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { E2eError } from './errors.js';
import { cpuLayout, parseWrkOutput } from './wrk.js';

// Printed by Debian's wrk 4.1.0 against uWSGI --http-socket (which closes every connection).
const UWSGI_HTTP = `Running 1s test @ http://127.0.0.1:46603/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   387.62us  114.54us   2.41ms   90.47%
    Req/Sec    23.14k     1.37k   24.30k    90.91%
  Latency Distribution
     50%  380.00us
     75%  404.00us
     90%  438.00us
     99%  715.00us
  25291 requests in 1.10s, 1.83MB read
  Socket errors: connect 0, read 25291, write 0, timeout 0
Requests/sec:  22996.73
Transfer/sec:      1.67MB
`;

// A 1000-connection run of 1 s sleepers, with non-2xx answers and second/minute units.
const SLEEPERS = `Running 15s test @ http://127.0.0.1:19005/
  1 threads and 1000 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02s    12.30ms   1.07s    71.29%
    Req/Sec     1.03k   412.31     2.00k    66.67%
  Latency Distribution
     50%    1.01s 
     75%    1.03s 
     90%    1.04s 
     99%    1.06s 
  13920 requests in 15.01s, 1.21MB read
  Socket errors: connect 0, read 13920, write 0, timeout 12
  Non-2xx or 3xx responses: 7
Requests/sec:    927.40
Transfer/sec:     82.71KB
`;

describe('parseWrkOutput', () => {
  it('reads requests/s, latency percentiles (in seconds), totals and socket errors', () => {
    const r = parseWrkOutput(UWSGI_HTTP);
    assert.equal(r.requestsPerSec, 22996.73);
    assert.equal(r.requests, 25291);
    assert.equal(r.duration, 1.1);
    assert.ok(Math.abs(r.latency.p50 - 380e-6) < 1e-12);
    assert.ok(Math.abs(r.latency.p99 - 715e-6) < 1e-12);
    assert.ok(Math.abs(r.latency.max - 2.41e-3) < 1e-12);
    assert.equal(r.bytesRead, 1.83 * 1024 * 1024);
    assert.deepEqual(r.errors, { connect: 0, read: 25291, write: 0, timeout: 0, status: 0 });
  });

  it('reads second units, trailing blanks, timeouts and non-2xx counts', () => {
    const r = parseWrkOutput(SLEEPERS);
    assert.equal(r.requestsPerSec, 927.4);
    assert.equal(r.latency.p50, 1.01);
    assert.equal(r.latency.p99, 1.06);
    assert.equal(r.latency.avg, 1.02);
    assert.equal(r.duration, 15.01);
    assert.deepEqual(r.errors, { connect: 0, read: 13920, write: 0, timeout: 12, status: 7 });
  });

  it('reports zero socket errors when wrk prints no "Socket errors" line', () => {
    const r = parseWrkOutput(UWSGI_HTTP.replace(/^\s*Socket errors.*\n/m, ''));
    assert.deepEqual(r.errors, { connect: 0, read: 0, write: 0, timeout: 0, status: 0 });
  });

  it('fails with TSGI_ERR_E2E_WRK_OUTPUT on output without --latency', () => {
    const noLatency = UWSGI_HTTP.replace(/  Latency Distribution[\s\S]*?99%.*\n/, '');
    assert.throws(() => parseWrkOutput(noLatency), (err: E2eError) => err.code === 'TSGI_ERR_E2E_WRK_OUTPUT' && /--latency/.test(err.message));
  });
});

describe('cpuLayout', () => {
  it('puts the server on CPU 1 and wrk on CPU 0 when pinned, and says so', () => {
    const layout = cpuLayout();
    if (layout.pinned) {
      assert.deepEqual([layout.server, layout.client], [1, 0]);
      assert.match(layout.description, /CPU 1.*CPU 0/);
    } else {
      assert.match(layout.description, /not pinned/);
    }
  });
});
