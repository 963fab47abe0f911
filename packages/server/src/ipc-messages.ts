import type { TsgiOptions } from './config/options.js';
import type { EngineSocket } from './engine/loop-engine.js';

/** What the master tells a worker when it starts it. */
export interface WorkerInit {
  t: 'init';
  workerId: number;
  version: string;
  sockets: EngineSocket[];
  settings: WorkerSettings;
}

/** The resolved options plus what the master worked out for the worker. */
export type WorkerSettings = TsgiOptions & { cwd: string };

export type MasterToWorker =
  | WorkerInit
  | { t: 'handle'; index: number }
  | { t: 'stop'; mode: 'graceful' | 'brutal'; reason: string };

export type WorkerToMaster =
  | { t: 'need-handle'; index: number }
  | { t: 'ready'; loadMillis: number }
  | { t: 'app-failed'; message: string };
