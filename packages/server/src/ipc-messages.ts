import type { AddSourceResult, SignalRaiseResult, SignalSourceSpec } from '@tsgi/signals';
import type { TsgiOptions } from './config/options.js';
import type { EngineSocket } from './engine/loop-engine.js';
import type { WorkerSnapshot } from './stats/stats-snapshot.js';

/** The resolved options plus what the master worked out for the worker. */
export type WorkerSettings = TsgiOptions & { cwd: string };

/** What the master tells a worker when it starts it. */
export interface WorkerInit {
  t: 'init';
  workerId: number;
  version: string;
  sockets: EngineSocket[];
  settings: WorkerSettings;
  /** uWSGI staggers max-requests per worker: max-requests + workerId * max-requests-delta. */
  maxRequests: number;
  lastSpawn: number;
  respawnCount: number;
}

export type WorkerStats = Omit<WorkerSnapshot, 'lastSpawn' | 'respawnCount' | 'status'> & { busy: boolean; signalRunning: number };

export type MasterToWorker =
  | WorkerInit
  | { t: 'handle'; index: number }
  | { t: 'stop'; mode: 'graceful' | 'brutal'; reason: string; purpose: 'reload' | 'shutdown' }
  | { t: 'signal'; num: number }
  | { t: 'stats?'; id: number }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: { code: string; message: string } };

export type WorkerRequest =
  | { op: 'signal-register'; num: number; target: string }
  | { op: 'signal-raise'; num: number; origin: string }
  | { op: 'signal-add-source'; spec: SignalSourceSpec };

export type WorkerRequestResult = void | SignalRaiseResult | AddSourceResult;

export type WorkerToMaster =
  | { t: 'need-handle'; index: number }
  | { t: 'ready'; loadMillis: number }
  | { t: 'app-failed'; message: string }
  | { t: 'heartbeat'; busyCores: number; accepting: boolean }
  | { t: 'recycle'; reason: string }
  | { t: 'signal-ack'; count: number }
  | { t: 'stats'; id: number; stats: WorkerStats }
  | { t: 'request'; id: number; request: WorkerRequest };
