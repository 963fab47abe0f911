/**
 * `--worker-heap`: the V8 heap settings tsgi gives its workers.
 *
 * `lean` (the default) caps the young generation at two 2 MiB semi-spaces and lets the old
 * generation grow by half of what survived a full collection before the next one. V8's defaults
 * (`v8`) are tuned for throughput: under steady load the young generation grows to two 16 MiB
 * semi-spaces and the old generation to several times what is alive. For a worker with thousands
 * of requests waiting at once, that triples the RSS per waiting request (packages/server/README.md,
 * "Memory").
 */
export type WorkerHeap = 'lean' | 'v8';

/** The V8 flags of `--worker-heap lean`. */
export const LEAN_HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=50'];

/** Where the user may already have set a V8 flag for the workers. */
export interface NodeFlagSources {
  /** tsgi's own Node flags, which the workers inherit. */
  execArgv: readonly string[];
  /** The workers inherit NODE_OPTIONS through their environment. */
  nodeOptions: string | undefined;
  /** `--worker-node-arg` values. */
  workerNodeArg: readonly string[];
}

export interface WorkerHeapFlags {
  /** The flags to add to each worker's command line. */
  flags: string[];
  /** Flags of the mode the user set themselves, by name; theirs are kept. */
  leftToUser: string[];
}

/** `--max_semi_space_size=2` and `--max-semi-space-size 2` both name `--max-semi-space-size`. */
function flagName(token: string): string | null {
  if (!token.startsWith('--')) return null;
  const name = token.slice(2).split('=', 1)[0];
  return '--' + name.replaceAll('_', '-');
}

function namesIn(tokens: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const token of tokens) {
    const name = flagName(token);
    if (name) names.add(name);
  }
  return names;
}

/**
 * The flags `mode` adds to a worker's command line. A flag the user set anywhere the worker will
 * see it is left out, so the user's value wins; NODE_OPTIONS needs this, since Node lets the
 * command line override it.
 */
export function workerHeapFlags(mode: WorkerHeap, sources: NodeFlagSources): WorkerHeapFlags {
  if (mode === 'v8') return { flags: [], leftToUser: [] };
  const nodeOptions = (sources.nodeOptions ?? '').split(/\s+/).map((token) => token.replace(/^["']/, ''));
  const set = namesIn([...sources.execArgv, ...nodeOptions, ...sources.workerNodeArg]);
  const flags: string[] = [];
  const leftToUser: string[] = [];
  for (const flag of LEAN_HEAP_FLAGS) {
    const name = flagName(flag)!;
    if (set.has(name)) leftToUser.push(name);
    else flags.push(flag);
  }
  return { flags, leftToUser };
}

/** The startup log line that says what the workers' heap runs with. */
export function describeWorkerHeap(mode: WorkerHeap, { flags, leftToUser }: WorkerHeapFlags): string {
  if (mode === 'v8') return "worker heap: V8's defaults (--worker-heap v8)";
  const kept = leftToUser.length > 0 ? `; ${leftToUser.join(' ')} as you set it` : '';
  return `worker heap: lean (${flags.length > 0 ? flags.join(' ') : 'no flags added'}${kept}); --worker-heap v8 keeps V8's defaults`;
}
