import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { LogFileError, Logger, createRequestLogFormatter, shouldLogRequest } from './logger.js';
import type { RequestLogRecord } from './request-log.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-logger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Logger', () => {
  it('appends one line per call to --logto, adding the newline once', () => {
    const path = join(dir, 'append.log');
    const first = new Logger({ logto: path });
    first.log('one');
    first.close();
    const logger = new Logger({ logto: path });
    logger.log('two\n');
    logger.log('three');
    logger.close();
    assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\nthree\n');
  });

  it('reopens the file after it was moved away (logrotate)', () => {
    const path = join(dir, 'rotate.log');
    const logger = new Logger({ logto: path });
    logger.log('before');
    renameSync(path, `${path}.1`);
    logger.log('still to the moved file');
    logger.reopen();
    logger.log('after');
    logger.close();
    assert.equal(readFileSync(`${path}.1`, 'utf8'), 'before\nstill to the moved file\n');
    assert.equal(readFileSync(path, 'utf8'), 'after\n');
  });

  it('refuses a --logto it cannot open, with a stable code', () => {
    assert.throws(() => new Logger({ logto: join(dir, 'no-such-dir', 'x.log') }), (e: unknown) => e instanceof LogFileError && e.code === 'TSGI_ERR_LOG_FILE');
  });

  it('never throws into the caller when a write fails (disk full), and reports it on a channel', () => {
    const errors: unknown[] = [];
    const onError = (message: unknown) => errors.push(message);
    subscribe('tsgi:server:log:error', onError);
    const logger = new Logger({ logto: '/dev/full' });
    const stderrWrite = process.stderr.write;
    const warnings: string[] = [];
    process.stderr.write = ((chunk: string) => {
      warnings.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      logger.log('lost');
      logger.log('lost again');
    } finally {
      process.stderr.write = stderrWrite;
      unsubscribe('tsgi:server:log:error', onError);
      logger.close();
    }
    assert.equal(errors.length, 2);
    assert.equal((errors[0] as { error: NodeJS.ErrnoException }).error.code, 'ENOSPC');
    assert.equal(warnings.length, 1, 'the failure is told once on stderr, not once per line');
    assert.match(warnings[0], /cannot write the log to \/dev\/full/);
  });

  it('publishes every line on tsgi:server:log:line', () => {
    const lines: unknown[] = [];
    const onLine = (message: unknown) => lines.push(message);
    subscribe('tsgi:server:log:line', onLine);
    const path = join(dir, 'channel.log');
    const logger = new Logger({ logto: path });
    try {
      logger.log('hello');
    } finally {
      unsubscribe('tsgi:server:log:line', onLine);
      logger.close();
    }
    assert.deepEqual(lines, [{ line: 'hello', destination: path }]);
  });

  it('writes to stderr synchronously: a line logged just before process.exit is not lost', () => {
    const loggerModule = fileURLToPath(new URL('./logger.js', import.meta.url));
    const script = `import { Logger } from ${JSON.stringify(loggerModule)}; const l = new Logger(); for (let i = 0; i < 2000; i++) l.log('line ' + i); process.exit(3);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 3);
    const lines = result.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 2000);
    assert.equal(lines[1999], 'line 1999');
  });
});

describe('request log settings', () => {
  it('logs nothing with --disable-logging but 4xx/5xx when asked', () => {
    const base = { disableLogging: true, log4xx: false, log5xx: false, logformat: null, logMicros: false };
    assert.equal(shouldLogRequest(base, 200), false);
    assert.equal(shouldLogRequest({ ...base, disableLogging: false }, 200), true);
    assert.equal(shouldLogRequest({ ...base, log4xx: true }, 404), true);
    assert.equal(shouldLogRequest({ ...base, log4xx: true }, 500), false);
    assert.equal(shouldLogRequest({ ...base, log5xx: true }, 503), true);
  });

  it('picks --logformat when given, else the default line', () => {
    const record = {
      pid: 1, workerId: 1, appId: 0, appRequests: 1, totalRequests: 1, remoteAddr: '::1', remoteUser: '', varCount: 1, packetSize: 10,
      startTime: 0, duration: 0.0015, method: 'GET', uri: '/', protocol: 'HTTP/1.1', status: 200, responseSize: 2, headerCount: 1,
      headersSize: 20, switches: 1, core: 0,
    } satisfies RequestLogRecord;
    assert.equal(createRequestLogFormatter({ logformat: '%(method) %(uri) %(micros)', logMicros: false })(record), 'GET / 1500');
    assert.match(createRequestLogFormatter({ logformat: null, logMicros: false })(record), /^\[pid: 1\|app: 0\|req: 1\/1\] ::1 .* in 1 msecs /);
    assert.match(createRequestLogFormatter({ logformat: null, logMicros: true })(record), / in 1500 micros /);
  });
});
