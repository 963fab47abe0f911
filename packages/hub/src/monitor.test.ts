import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Event } from './event.js';
import { spawn } from './greenlet.js';
import { getHub } from './hub.js';
import type { BlockedReport } from './monitor.js';

describe('blocking monitor', () => {
  it('is off by default', () => {
    assert.equal(getHub()._monitor, null);
  });

  it('reports a blocked loop while it is blocked, naming the greenlet, then calls onBlocked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-hub-monitor-'));
    const fd = openSync(join(dir, 'report'), 'w+');
    const recovered = new Event();
    const reports: BlockedReport[] = [];
    const published: unknown[] = [];
    const onPublish = (m: unknown): void => {
      published.push(m);
    };
    diagnosticsChannel.subscribe('tsgi:hub:blocked', onPublish);
    try {
      await getHub().startMonitor({
        maxBlockingTime: 0.1,
        reportFd: fd,
        onBlocked: (r) => {
          reports.push(r);
          recovered.set();
        },
      });
      const hog = spawn(() => {
        // Spin (never yielding) until the watchdog's report shows up in the file.
        const end = Date.now() + 5000;
        while (Date.now() < end) if (fstatSync(fd).size > 0) return true;
        return false;
      });
      hog.name = 'cpu-hog';
      assert.equal(await hog.get(), true, 'the watchdog reported while the loop was blocked');
      const text = readFileSync(join(dir, 'report'), 'utf8');
      assert.match(text, /\+-+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ : Greenlet <Greenlet "cpu-hog" at 0x[0-9a-f]+> appears to be blocked/);
      assert.match(text, /maxBlockingTime 0\.1 s/);
      assert.equal(await recovered.wait(5), true);
      assert.equal(reports[0].greenlet.name, 'cpu-hog');
      assert.ok(reports[0].seconds >= 0.1, `blocked for ${reports[0].seconds} s`);
      assert.equal(published[0], reports[0]);
    } finally {
      getHub().stopMonitor();
      diagnosticsChannel.unsubscribe('tsgi:hub:blocked', onPublish);
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(getHub()._monitor, null);
  });

  it('rejects a bad maxBlockingTime', () => {
    assert.throws(() => getHub().startMonitor({ maxBlockingTime: 0 }), { code: 'TSGI_ERR_HUB_INVALID_ARGUMENT' });
    assert.equal(getHub()._monitor, null);
  });
});
