import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_FORMAT_VARIABLES, compileLogFormat } from './log-format.js';
import type { RequestLogRecord } from './request-log.js';

process.env.TZ = 'UTC';
const START = Date.UTC(2026, 10, 24, 16, 16, 54) / 1000;

const record: RequestLogRecord = {
  pid: 4242, workerId: 2, appId: 0, appRequests: 5, totalRequests: 9, remoteAddr: '10.0.0.7', remoteUser: '',
  varCount: 12, packetSize: 300, startTime: START + 0.25, duration: 0.012_345, method: 'POST', uri: '/items?id=3',
  protocol: 'HTTP/1.0', status: 201, responseSize: 17, headerCount: 2, headersSize: 60, switches: 4, core: 7,
  vars: { HTTP_HOST: 'example.test', HTTP_USER_AGENT: 'curl/8', HTTP_X_ID: 'abc', CONTENT_LENGTH: '42', 'tsgi.input': {} },
  logvars: { tenant: 'acme' },
  modifier1: 0, modifier2: 0, rss: 50 * 1024 * 1024, vsz: 300 * 1024 * 1024, readErrors: 1, writeErrors: 2,
};

describe('compileLogFormat', () => {
  it('fills every uWSGI variable', () => {
    const expected: Record<string, string> = {
      uri: '/items?id=3', method: 'POST', user: '-', addr: '10.0.0.7', host: 'example.test', proto: 'HTTP/1.0', uagent: 'curl/8',
      referer: '-', status: '201', rsize: '17', hsize: '60', size: '77', cl: '42', micros: '12345', msecs: '12', secs: '0.012345',
      tmsecs: String(Math.floor((START + 0.25) * 1000)), tmicros: String(Math.floor((START + 0.25) * 1e6)), time: String(START),
      ltime: '24/Nov/2026:16:16:54 +0000', ftime: '24/Nov/2026:16:16:54 +0000', ctime: 'Tue Nov 24 16:16:54 2026',
      pid: '4242', wid: '2', switches: '4', vars: '24', core: '7', vsz: String(300 * 1024 * 1024), rss: String(50 * 1024 * 1024),
      vszM: '300', rssM: '50', pktsize: '300', modifier1: '0', modifier2: '0', headers: '2', werr: '2', rerr: '1', ioerr: '3',
    };
    for (const name of LOG_FORMAT_VARIABLES) {
      if (name === 'epoch') continue;
      assert.equal(compileLogFormat(`%(${name})`)(record), expected[name], name);
    }
    assert.deepEqual([...LOG_FORMAT_VARIABLES].filter((n) => n !== 'epoch').sort(), Object.keys(expected).sort());
  });

  it('gives the time of writing for %(epoch)', () => {
    const before = Math.floor(Date.now() / 1000);
    const value = Number(compileLogFormat('%(epoch)')(record));
    assert.ok(value >= before && value <= Math.floor(Date.now() / 1000));
  });

  it('reads request vars, logvars, and logs - for what is empty or missing', () => {
    const fmt = compileLogFormat('%(var.HTTP_X_ID) %(var.HTTP_NONE) %(tenant) %(nosuch) %(var.tsgi.input) %(user)');
    assert.equal(fmt(record), 'abc - acme - - -');
  });

  it('keeps literal text, unterminated and empty %( as they are', () => {
    assert.equal(compileLogFormat('[%(status)] 100% done %(uri')(record), '[201] 100% done %(uri');
    assert.equal(compileLogFormat('no variables')(record), 'no variables');
    assert.equal(compileLogFormat('%()x')(record), '%()x');
    assert.equal(compileLogFormat('%(method)%(uri)')(record), 'POST/items?id=3');
  });

  it('formats a combined-style line', () => {
    const fmt = compileLogFormat('%(addr) - %(user) [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size) "%(referer)" "%(uagent)"');
    assert.equal(fmt(record), '10.0.0.7 - - [24/Nov/2026:16:16:54 +0000] "POST /items?id=3 HTTP/1.0" 201 77 "-" "curl/8"');
  });
});
