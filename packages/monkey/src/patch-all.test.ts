import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Event, getHub, spawn } from '@tsgi/hub';
import { PATCH_NAMES, UnknownPatchError, isPatched, originalTimers, patchAll, unpatchAll } from './index.js';

getHub().exceptionStream = null;

type Capturing = typeof import('./test-support/captures-at-import.js');
/** A fresh instance of the capturing module (the query makes it a module of its own). */
const load = (tag: string): Promise<Capturing> => import(`./test-support/captures-at-import.js?${tag}`) as Promise<Capturing>;

const later = (ms: number): Promise<void> => new Promise((resolve) => originalTimers.setTimeout(resolve, ms));

/** Whether a timer started through `startTimer` survives the kill of the greenlet that started it. */
async function survivesKill(startTimer: (cb: () => void, ms: number) => unknown): Promise<boolean> {
  let fired = false;
  const started = new Event();
  const g = spawn(async () => {
    startTimer(() => {
      fired = true;
    }, 20);
    started.set();
    await new Event().wait();
  });
  await started.wait();
  await g.kill();
  await later(80);
  return fired;
}

describe('patchAll', () => {
  afterEach(() => unpatchAll());

  it('applies every patch, harmlessly twice, and unpatchAll undoes them', () => {
    const connect = net.Socket.prototype.connect;
    const getStore = AsyncLocalStorage.prototype.getStore;
    const seen: unknown[] = [];
    const listener = (m: unknown): void => {
      seen.push(m);
    };
    diagnosticsChannel.subscribe('tsgi:monkey:patch', listener);
    try {
      assert.deepEqual(patchAll(), ['timers', 'net', 'thread']);
      patchAll();
      for (const name of PATCH_NAMES) assert.equal(isPatched(name), true);
      unpatchAll();
      for (const name of PATCH_NAMES) assert.equal(isPatched(name), false);
      assert.equal(net.Socket.prototype.connect, connect);
      assert.equal(AsyncLocalStorage.prototype.getStore, getStore);
      assert.equal(globalThis.setTimeout, originalTimers.setTimeout);
    } finally {
      diagnosticsChannel.unsubscribe('tsgi:monkey:patch', listener);
    }
    assert.deepEqual(seen.slice(0, 3), [
      { name: 'timers', action: 'patch' },
      { name: 'net', action: 'patch' },
      { name: 'thread', action: 'patch' },
    ]);
    assert.equal(seen.length, 6, 'patching twice announces nothing');
  });

  it('picks patches with options and rejects unknown names', () => {
    assert.deepEqual(patchAll({ net: false, thread: false }), ['timers']);
    assert.equal(isPatched('timers'), true);
    assert.equal(isPatched('net'), false);
    assert.throws(() => patchAll({ time: true } as never), (e: unknown) => e instanceof UnknownPatchError && e.code === 'TSGI_ERR_MONKEY_UNKNOWN_PATCH');
    assert.throws(() => isPatched('socket' as never), UnknownPatchError);
  });

  it('early patching reaches a module that captures setTimeout at import; late patching does not', async () => {
    // Late (--gevent-monkey-patch): the module is loaded first, then patched.
    const late = await load('late');
    patchAll();
    assert.equal(await survivesKill(late.startTimer), true, 'the late patch missed the captured setTimeout');
    assert.equal(await survivesKill((cb, ms) => setTimeout(cb, ms)), false, 'a call-time lookup is patched');
    unpatchAll();
    // Early (--gevent-early-monkey-patch): patched before the module is loaded.
    patchAll();
    const early = await load('early');
    assert.equal(await survivesKill(early.startTimer), false, 'the early patch reached it');
  });
});
