import { PostforkRegistry, type PostforkHandler } from './postfork.js';
import type { SignalApi } from './signal-api.js';
import { normalizeSourceSpec, type SignalSourceSpec } from './signal-sources.js';
import type { SignalHandler } from './signal-table.js';

export interface SignalBindingOptions {
  /** Where the master routes it; default "" (one worker, the first free). */
  target?: string;
  /** The signal number; default getFreeSignal(). */
  signum?: number;
}

/** What a helper bound: the number it used and a promise settled when the master has accepted everything. */
export interface SignalBinding {
  signum: number;
  ready: Promise<void>;
}

export interface SignalDecorators {
  onSignal(num: number, handler: SignalHandler, options?: { target?: string }): SignalBinding;
  timer(seconds: number, handler: SignalHandler, options?: SignalBindingOptions): SignalBinding;
  msTimer(ms: number, handler: SignalHandler, options?: SignalBindingOptions): SignalBinding;
  rbTimer(seconds: number, handler: SignalHandler, options?: SignalBindingOptions & { iterations?: number }): SignalBinding;
  fileMonitor(path: string, handler: SignalHandler, options?: SignalBindingOptions): SignalBinding;
  cron(
    minute: number,
    hour: number,
    day: number,
    month: number,
    weekday: number,
    handler: SignalHandler,
    options?: SignalBindingOptions,
  ): SignalBinding;
  postfork(handler: PostforkHandler, options?: { workerId?: number }): void;
  /** The chain postfork() fills; the server runs it after a worker starts. */
  readonly postforkRegistry: PostforkRegistry;
}

/**
 * Helpers in the spirit of uwsgidecorators: each registers the handler and adds its event source,
 * picking a free signal number when none is given. Every worker that imports the same app makes the
 * same calls in the same order, so it picks the same numbers, and the master's keyed source registry
 * turns N identical timers into one.
 */
export function createSignalDecorators(api: SignalApi, options: { postforkRegistry?: PostforkRegistry } = {}): SignalDecorators {
  const postforkRegistry = options.postforkRegistry ?? new PostforkRegistry();
  const bind = (handler: SignalHandler, opts: SignalBindingOptions, spec: (signum: number) => SignalSourceSpec): SignalBinding => {
    const signum = opts.signum ?? api.getFreeSignal();
    // Check the source's parameters before registering anything, so a bad call leaves no half binding.
    const source = normalizeSourceSpec(spec(signum));
    const registered = api.registerSignal(signum, opts.target ?? '', handler);
    const added = addSource(source);
    const ready = Promise.all([registered, added]).then(() => undefined);
    ready.catch(() => {}); // each part already logs its own failure
    return { signum, ready };
  };
  const addSource = (s: SignalSourceSpec): Promise<void> => {
    switch (s.kind) {
      case 'timer':
        return api.addTimer(s.num, s.seconds);
      case 'ms-timer':
        return api.addMsTimer(s.num, s.ms);
      case 'rb-timer':
        return api.addRbTimer(s.num, s.seconds, s.iterations);
      case 'file':
        return api.addFileMonitor(s.num, s.path);
      case 'cron':
        return api.addCron(s.num, s.minute, s.hour, s.day, s.month, s.weekday);
    }
  };
  return {
    onSignal(num, handler, opts = {}) {
      const ready = api.registerSignal(num, opts.target ?? '', handler);
      return { signum: num, ready };
    },
    timer: (seconds, handler, opts = {}) => bind(handler, opts, (num) => ({ kind: 'timer', num, seconds })),
    msTimer: (ms, handler, opts = {}) => bind(handler, opts, (num) => ({ kind: 'ms-timer', num, ms })),
    rbTimer: (seconds, handler, opts = {}) =>
      bind(handler, opts, (num) => ({ kind: 'rb-timer', num, seconds, iterations: opts.iterations ?? 0 })),
    fileMonitor: (path, handler, opts = {}) => bind(handler, opts, (num) => ({ kind: 'file', num, path })),
    cron: (minute, hour, day, month, weekday, handler, opts = {}) =>
      bind(handler, opts, (num) => ({ kind: 'cron', num, minute, hour, day, month, weekday })),
    postfork: (handler, opts = {}) => postforkRegistry.add(handler, opts),
    postforkRegistry,
  };
}
