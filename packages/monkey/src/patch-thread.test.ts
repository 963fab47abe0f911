import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, it } from 'node:test';
import { context, trace, ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Event, getCurrent, getHub, sleep, spawn } from '@tsgi/hub';
import { NotAStoreError, inheritAcrossSpawn, isInheritedAcrossSpawn, isPatched, patchThread, unpatchThread } from './index.js';

getHub().exceptionStream = null;

// Entered while "the app loads", before any patch: what a per-thread client does at import time.
const loadTime = new AsyncLocalStorage<string>();
loadTime.enterWith('entered at load');

describe('patchThread', () => {
  afterEach(() => unpatchThread());

  it('a greenlet never sees a value another greenlet entered (run and enterWith)', async () => {
    patchThread();
    const store = new AsyncLocalStorage<string>();
    const gate = new Event();
    const seen: Array<string | undefined> = [];
    const a = spawn(() =>
      store.run('a', async () => {
        await gate.wait();
        seen.push(store.getStore());
      }),
    );
    const b = spawn(async () => {
      store.enterWith('b');
      await gate.wait();
      seen.push(store.getStore());
    });
    await sleep(0);
    gate.set();
    await Promise.all([a.join(), b.join()]);
    assert.deepEqual(seen.sort(), ['a', 'b']);
    assert.equal(store.getStore(), undefined, 'main saw nothing');
  });

  it('a freshly spawned greenlet starts without its spawner\'s values', async () => {
    patchThread();
    const store = new AsyncLocalStorage<string>();
    const child = await spawn(() => store.run('parent', () => spawn(() => store.getStore()))).get();
    assert.equal(await child.get(), undefined);
  });

  it('unpatched, the spawner\'s value flows into the child (the control)', async () => {
    const store = new AsyncLocalStorage<string>();
    const child = await spawn(() => store.run('parent', () => spawn(() => store.getStore()))).get();
    assert.equal(await child.get(), 'parent');
  });

  it('a value entered at load stays in main but reaches no greenlet (patched after it was entered)', async () => {
    assert.equal(await spawn(() => loadTime.getStore()).get(), 'entered at load', 'unpatched: every greenlet shares it');
    patchThread();
    assert.equal(loadTime.getStore(), 'entered at load');
    assert.equal(await spawn(() => loadTime.getStore()).get(), undefined);
    const own = await spawn(async () => {
      loadTime.enterWith('mine');
      await sleep(0);
      return loadTime.getStore();
    }).get();
    assert.equal(own, 'mine');
    assert.equal(loadTime.getStore(), 'entered at load');
  });

  it('enterWith in a greenlet does not leak into the greenlet that awaits it', async () => {
    patchThread();
    const store = new AsyncLocalStorage<string>();
    const parent = spawn(() =>
      store.run('parent', async () => {
        const child = spawn(async () => {
          store.enterWith('child');
          await sleep(0);
          return store.getStore();
        });
        const got = await child.get();
        return [got, store.getStore()];
      }),
    );
    assert.deepEqual(await parent.get(), ['child', 'parent']);
  });

  it('inside one greenlet, run() scopes and exit()/disable() clear as Node documents', async () => {
    patchThread();
    const store = new AsyncLocalStorage<string>();
    const out = await spawn(async () => {
      const seen: Array<string | undefined> = [];
      await store.run('outer', async () => {
        await sleep(0);
        seen.push(store.getStore());
        store.exit(() => seen.push(store.getStore()));
        await store.run('inner', async () => {
          await sleep(0);
          seen.push(store.getStore());
        });
        seen.push(store.getStore());
        store.disable();
        seen.push(store.getStore());
      });
      return seen;
    }).get();
    assert.deepEqual(out, ['outer', undefined, 'inner', 'outer', undefined]);
  });

  it('stores marked inheritAcrossSpawn flow into spawned greenlets (as the server\'s request store)', async () => {
    patchThread();
    const request = inheritAcrossSpawn(new AsyncLocalStorage<string>());
    const plain = new AsyncLocalStorage<string>();
    assert.equal(isInheritedAcrossSpawn(request), true);
    assert.equal(isInheritedAcrossSpawn(plain), false);
    const [inRequest, inPlain, grandchild] = await spawn(() =>
      request.run('req-1', () =>
        plain.run('p', async () => {
          const child = spawn(async () => {
            const gc = spawn(() => request.getStore());
            return [request.getStore(), plain.getStore(), await gc.get()];
          });
          return child.get();
        }),
      ),
    ).get();
    assert.deepEqual([inRequest, inPlain, grandchild], ['req-1', undefined, 'req-1']);
    assert.throws(() => inheritAcrossSpawn({} as never), NotAStoreError);
  });

  it('OpenTelemetry: a span context set in a request is seen in greenlets it spawns (opt-in)', async () => {
    patchThread();
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
      const childSees = (): Promise<string | undefined> =>
        spawn(() =>
          context.with(trace.setSpan(ROOT_CONTEXT, span), () => spawn(() => trace.getSpan(context.active())?.spanContext().spanId).get()),
        ).get();
      assert.equal(await childSees(), undefined, 'without the opt-in a greenlet starts with an empty context');
      inheritAcrossSpawn((manager as unknown as { _asyncLocalStorage: AsyncLocalStorage<unknown> })._asyncLocalStorage);
      assert.equal(await childSees(), 'b7ad6b7169203331');
    } finally {
      context.disable();
    }
  });

  it('leaves the hub\'s own storage alone, is harmless twice and undoable', async () => {
    const getStore = AsyncLocalStorage.prototype.getStore;
    patchThread();
    patchThread();
    assert.equal(isPatched('thread'), true);
    assert.notEqual(AsyncLocalStorage.prototype.getStore, getStore);
    const g = spawn(async () => {
      await sleep(0);
      return getCurrent();
    });
    assert.equal(await g.get(), g);
    unpatchThread();
    assert.equal(AsyncLocalStorage.prototype.getStore, getStore);
    assert.equal(isPatched('thread'), false);
  });
});
