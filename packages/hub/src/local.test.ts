import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinAll, spawn } from './greenlet.js';
import { sleep } from './hub.js';
import { Local, local } from './local.js';

describe('local', () => {
  it('isolates attributes per greenlet', async () => {
    const data = local<{ n?: number }>();
    const run = async (n: number): Promise<number | undefined> => {
      data.n = n;
      await sleep(0.001);
      return data.n;
    };
    const gs = [1, 2, 3].map((n) => spawn(run, n));
    await joinAll(gs);
    assert.deepEqual(gs.map((g) => g.value), [1, 2, 3]);
    assert.equal(data.n, undefined, 'the main greenlet saw none of them');
  });

  it('a spawned greenlet starts with an empty local', async () => {
    const data = new Local();
    data.user = 'parent';
    const child = spawn(async () => {
      const inner = spawn(() => ['user' in data, data.user, Object.keys(data)]);
      return [data.user, await inner.get()];
    });
    assert.deepEqual(await child.get(), [undefined, [false, undefined, []]]);
    assert.equal(data.user, 'parent');
    assert.deepEqual(Object.keys(data), ['user']);
    delete data.user;
    assert.equal('user' in data, false);
  });

  it('drops a greenlet\'s values when it dies', async () => {
    const data = local<{ big?: number[] }>();
    const g = spawn(() => {
      data.big = [1, 2, 3];
    });
    await g.join();
    assert.equal(g._locals, null);
  });
});
