import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GreenletExit } from './errors.js';
import { getCurrent, spawn } from './greenlet.js';
import { Event } from './event.js';
import { getHub, sleep } from './hub.js';
import { greenletStorage, onKill, onSpawn, runInGreenlet, waitFor } from './internal.js';
import { withTimeout } from './timeout.js';

describe('@tsgi/hub/internal', () => {
  it('waitFor is killable and runs the cancel function before rejecting', async () => {
    const events: string[] = [];
    const registered = new Event();
    const g = spawn(() =>
      waitFor<void>(() => {
        events.push('registered');
        registered.set();
        return () => events.push('cancelled');
      }),
    );
    await registered.wait();
    await g.kill();
    assert.deepEqual(events, ['registered', 'cancelled']);
    assert.ok(g.value instanceof GreenletExit);
    assert.equal(await waitFor<number>((resolve) => void setTimeout(() => resolve(3), 1)), 3);
    await assert.rejects(waitFor((_, reject) => void reject(new Error('r'))), /r/);
    assert.equal(await withTimeout(0.005, () => waitFor(() => {}), { timeoutValue: 'timed out' }), 'timed out');
  });

  it('onSpawn sees child and parent synchronously; onKill fires inside kill()', async () => {
    const seen: string[] = [];
    const off = onSpawn((child, parent) => seen.push(`${child.name}<-${parent.name}`));
    const g = spawn(() => sleep(60));
    g.name = 'victim';
    off();
    spawn(() => 1);
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^Greenlet-\d+<-MainGreenlet$/);
    let reason: unknown;
    onKill(g, (r) => (reason = r));
    const killing = g.kill();
    assert.ok(reason instanceof GreenletExit);
    await killing;
    let late: unknown;
    onKill(g, (r) => (late = r));
    assert.equal(late, reason);
  });

  it('runInGreenlet makes a greenlet current; greenletStorage is the store', async () => {
    const g = spawn(() => sleep(0));
    assert.equal(runInGreenlet(g, () => getCurrent()), g);
    assert.equal(greenletStorage.getStore(), undefined);
    assert.equal(getCurrent(), getHub().main);
    await g.join();
  });
});
