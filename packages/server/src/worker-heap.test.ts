import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeWorkerHeap, LEAN_HEAP_FLAGS, workerHeapFlags } from './worker-heap.js';

const none = { execArgv: [], nodeOptions: undefined, workerNodeArg: [] };

describe('workerHeapFlags', () => {
  it('lean adds both flags when the user set neither', () => {
    assert.deepEqual(workerHeapFlags('lean', none), { flags: [...LEAN_HEAP_FLAGS], leftToUser: [] });
    assert.deepEqual(LEAN_HEAP_FLAGS, ['--max-semi-space-size=2', '--heap-growing-percent=50']);
  });

  it('v8 adds nothing', () => {
    assert.deepEqual(workerHeapFlags('v8', none), { flags: [], leftToUser: [] });
  });

  it('leaves out a flag set with --worker-node-arg, in either spelling', () => {
    assert.deepEqual(workerHeapFlags('lean', { ...none, workerNodeArg: ['--max_semi_space_size=16'] }),
      { flags: ['--heap-growing-percent=50'], leftToUser: ['--max-semi-space-size'] });
    assert.deepEqual(workerHeapFlags('lean', { ...none, workerNodeArg: ['--expose-gc', '--heap-growing-percent=20'] }),
      { flags: ['--max-semi-space-size=2'], leftToUser: ['--heap-growing-percent'] });
  });

  it('leaves out a flag NODE_OPTIONS sets, since the command line would override it', () => {
    const { flags, leftToUser } = workerHeapFlags('lean', { ...none, nodeOptions: '--enable-source-maps  "--max-semi-space-size=64" --title=x' });
    assert.deepEqual(flags, ['--heap-growing-percent=50']);
    assert.deepEqual(leftToUser, ['--max-semi-space-size']);
  });

  it("leaves out a flag tsgi's own Node runs with, written with a separate value too", () => {
    const { flags } = workerHeapFlags('lean', { ...none, execArgv: ['--max-semi-space-size', '8'] });
    assert.deepEqual(flags, ['--heap-growing-percent=50']);
  });

  it('does not mistake a longer flag for one of its own', () => {
    const { flags } = workerHeapFlags('lean', { ...none, workerNodeArg: ['--max-semi-space-size-extra=1', '--min-semi-space-size=1'] });
    assert.deepEqual(flags, [...LEAN_HEAP_FLAGS]);
  });
});

describe('describeWorkerHeap', () => {
  it('names the flags added and the ones the user kept', () => {
    assert.equal(describeWorkerHeap('lean', workerHeapFlags('lean', none)),
      "worker heap: lean (--max-semi-space-size=2 --heap-growing-percent=50); --worker-heap v8 keeps V8's defaults");
    assert.equal(describeWorkerHeap('lean', workerHeapFlags('lean', { ...none, workerNodeArg: ['--max-semi-space-size=8'] })),
      "worker heap: lean (--heap-growing-percent=50; --max-semi-space-size as you set it); --worker-heap v8 keeps V8's defaults");
    assert.equal(describeWorkerHeap('v8', workerHeapFlags('v8', none)), "worker heap: V8's defaults (--worker-heap v8)");
  });
});
