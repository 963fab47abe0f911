import type { SignalApi, SignalDecorators } from '@tsgi/signals';
import type { LoopEngine } from './engine/loop-engine.js';
import type { WorkerSettings } from './ipc-messages.js';

/** What `@tsgi/server/uwsgi` can see of the worker it runs in. */
export interface WorkerRuntime {
  readonly workerId: number;
  readonly settings: WorkerSettings;
  readonly version: string;
  engine(): LoopEngine | null;
  readonly signals: SignalApi;
  readonly decorators: SignalDecorators;
}

// A global slot rather than a module variable: the app may load its own copy of @tsgi/server
// (another path in node_modules), and both copies must see the one worker they run in.
const SLOT = Symbol.for('tsgi.worker-runtime');

export function installWorkerRuntime(runtime: WorkerRuntime): void {
  (globalThis as Record<symbol, unknown>)[SLOT] = runtime;
}

export function workerRuntime(): WorkerRuntime | undefined {
  return (globalThis as Record<symbol, unknown>)[SLOT] as WorkerRuntime | undefined;
}
