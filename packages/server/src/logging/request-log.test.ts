import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCtime, formatLtime, formatRequestLogLine, type RequestLogRecord } from './request-log.js';

// The reference lines were taken on a UTC machine; ctime() is local time.
process.env.TZ = 'UTC';

/** 2026-11-24 16:16:54 UTC */
const START = Date.UTC(2026, 10, 24, 16, 16, 54) / 1000;

/** The request behind uwsgi-observed-here.md's line: nginx → uWSGI, GET /unbuffered/ of the crazy example. */
const reference: RequestLogRecord = {
  pid: 15007,
  workerId: 1,
  appId: 0,
  appRequests: 1,
  totalRequests: 1,
  remoteAddr: '127.0.0.1',
  remoteUser: '',
  varCount: 16,
  packetSize: 386,
  startTime: START + 0.191,
  duration: 3.031_487,
  method: 'GET',
  uri: '/unbuffered/',
  protocol: 'HTTP/1.1',
  status: 200,
  responseSize: 106,
  headerCount: 1,
  headersSize: 44,
  switches: 9,
  core: 99,
};

describe('formatRequestLogLine', () => {
  it('reproduces the reference uWSGI line byte for byte', () => {
    assert.equal(
      formatRequestLogLine(reference),
      '[pid: 15007|app: 0|req: 1/1] 127.0.0.1 () {32 vars in 386 bytes} [Tue Nov 24 16:16:54 2026] GET /unbuffered/ => generated 106 bytes in 3031 msecs (HTTP/1.1 200) 1 headers in 44 bytes (9 switches on core 99)',
    );
  });

  it('reproduces the exception line of the reference (500, nothing sent)', () => {
    const line = formatRequestLogLine({
      ...reference, pid: 15673, appRequests: 3, totalRequests: 3, packetSize: 384, startTime: Date.UTC(2026, 10, 24, 16, 19, 54) / 1000,
      duration: 0.000_2, uri: '/exc/before', status: 500, responseSize: 0, headerCount: 0, headersSize: 0, switches: 1, core: 9,
    });
    assert.equal(line, '[pid: 15673|app: 0|req: 3/3] 127.0.0.1 () {32 vars in 384 bytes} [Tue Nov 24 16:19:54 2026] GET /exc/before => generated 0 bytes in 0 msecs (HTTP/1.1 500) 0 headers in 0 bytes (1 switches on core 9)');
  });

  it('prints the user, -1 for an app with no request yet, and micros with --log-micros', () => {
    const line = formatRequestLogLine({ ...reference, remoteUser: 'bob', appRequests: 0, totalRequests: 7 }, { micros: true });
    assert.match(line, /^\[pid: 15007\|app: 0\|req: -1\/7\] 127\.0\.0\.1 \(bob\) /);
    assert.match(line, / in 3031487 micros \(/);
  });

  it('does not lose a millisecond to floating point', () => {
    assert.match(formatRequestLogLine({ ...reference, duration: 3.031 }), / in 3031 msecs /);
    assert.match(formatRequestLogLine({ ...reference, duration: 0.0009996 }), / in 0 msecs /);
  });

  it('falls back to uWSGI\'s minimal line when the line would pass 4096 bytes', () => {
    const line = formatRequestLogLine({ ...reference, uri: `/${'x'.repeat(5000)}` });
    assert.equal(line, '[pid: 15007|app: 0|req: 1/1] 0.0.0.0 () {32 vars in 386 bytes} [Tue Nov 24 16:16:54 2026] - - => generated 106 bytes in 3031 msecs (- 200) 1 headers in 44 bytes (9 switches on core 99)');
    const justFits = formatRequestLogLine({ ...reference, uri: '/' });
    const room = 4096 - 1 - justFits.length;
    assert.match(formatRequestLogLine({ ...reference, uri: `/${'y'.repeat(room)}` }), / GET \/y+ => /);
    assert.match(formatRequestLogLine({ ...reference, uri: `/${'y'.repeat(room + 1)}` }), / - - => /);
  });
});

describe('C time formats', () => {
  it('pads the day of month like ctime()', () => {
    assert.equal(formatCtime(Date.UTC(2026, 0, 4, 3, 5, 9) / 1000), 'Sun Jan  4 03:05:09 2026');
  });

  it('formats strftime %d/%b/%Y:%H:%M:%S %z', () => {
    assert.equal(formatLtime(START), '24/Nov/2026:16:16:54 +0000');
  });
});
