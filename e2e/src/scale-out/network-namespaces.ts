// Linux network namespaces as stand-in hosts: each namespace has its own interfaces, addresses and
// routes, so a server bound to 10.200.1.2 in one is reachable only over the veth pair the lab made.
// Nothing here adds an address or a route to the namespace the tests themselves run in.
import { execFile, execFileSync } from 'node:child_process';
import { hasBinary } from '../support/index.js';

const COMMAND_TIMEOUT_MS = 10_000;

/** Every namespace a lab creates is named `tsgi-so-<pid of the test process>-<random>-<host>`. */
const NAME_PREFIX = 'tsgi-so-';
const NAME_PATTERN = /^tsgi-so-(\d+)-[0-9a-f]+-/;

export class NetnsError extends Error {
  readonly code = 'TSGI_ERR_E2E_NETNS';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NetnsError';
  }
}

function ipPath(): string | null {
  return hasBinary('ip');
}

function run(args: readonly string[]): Promise<string> {
  const ip = ipPath();
  if (!ip) return Promise.reject(new NetnsError('the `ip` command is missing: install iproute2'));
  return new Promise((resolve, reject) => {
    execFile(ip, args, { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new NetnsError(`ip ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

let cachedSkipReason: string | undefined | null = null;

/**
 * Why network-namespace tests cannot run here, or undefined when they can: not Linux, not root, no
 * `ip` (iproute2), or the kernel/container refuses to create a namespace (checked by creating one).
 */
export function netnsSkipReason(): string | undefined {
  if (cachedSkipReason !== null) return cachedSkipReason;
  cachedSkipReason = (() => {
    if (process.platform !== 'linux') return `network namespaces are Linux-only (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run the e2e suite as root, as CI does)';
    const ip = ipPath();
    if (!ip) return 'the `ip` command is missing: apt-get install iproute2';
    const probe = `${NAME_PREFIX}${process.pid}-0-probe`;
    try {
      execFileSync(ip, ['netns', 'add', probe], { timeout: COMMAND_TIMEOUT_MS, stdio: 'pipe' });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
      return `this machine refuses to create a network namespace (ip netns add: ${stderr || (error as Error).message})`;
    }
    execFileSync(ip, ['netns', 'del', probe], { timeout: COMMAND_TIMEOUT_MS, stdio: 'pipe' });
    return undefined;
  })();
  return cachedSkipReason;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces left by labs whose test process died before its `after()` hook ran. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const listing = await run(['netns', 'list']);
  const stale = listing
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => {
      const m = NAME_PATTERN.exec(name);
      return m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]));
    });
  for (const name of stale) await run(['netns', 'del', name]).catch(() => undefined);
  return stale;
}

/**
 * A set of namespaces ("hosts") joined by point-to-point veth pairs. Names are unique per run, so
 * two test processes never share one, and `destroy()` removes everything the lab made.
 */
export class NetnsLab {
  readonly #id = `${process.pid}-${Math.floor(Math.random() * 0xffffff).toString(16)}`;
  readonly #namespaces: string[] = [];

  /** The namespace name of host `label` (created by `addHost`). */
  namespace(label: string): string {
    return `${NAME_PREFIX}${this.#id}-${label}`;
  }

  /** Creates host `label` with its loopback up; returns the namespace name. */
  async addHost(label: string): Promise<string> {
    const ns = this.namespace(label);
    await run(['netns', 'add', ns]);
    this.#namespaces.push(ns);
    await run(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A cable between two hosts: a veth pair created directly inside them (interface `aIf` in host
   * `a` with `aCidr`, `bIf` in host `b` with `bCidr`), both ends up.
   */
  async connect(a: string, aIf: string, aCidr: string, b: string, bIf: string, bCidr: string): Promise<void> {
    const nsA = this.namespace(a);
    const nsB = this.namespace(b);
    await run(['-n', nsA, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', nsB]);
    await run(['-n', nsA, 'addr', 'add', aCidr, 'dev', aIf]);
    await run(['-n', nsB, 'addr', 'add', bCidr, 'dev', bIf]);
    await run(['-n', nsA, 'link', 'set', aIf, 'up']);
    await run(['-n', nsB, 'link', 'set', bIf, 'up']);
    // The kernel reports carrier changes asynchronously (linkwatch, up to a second later); until then
    // the interface is not RUNNING and the far end may still drop or accept packets.
    await this.waitForCarrier(a, aIf, true);
    await this.waitForCarrier(b, bIf, true);
  }

  /** Whether interface `ifName` of host `label` has a carrier (operstate UP). */
  async hasCarrier(label: string, ifName: string): Promise<boolean> {
    const [info] = JSON.parse(await run(['-j', '-n', this.namespace(label), 'link', 'show', 'dev', ifName])) as { operstate: string; flags: string[] }[];
    return info.operstate === 'UP' && !info.flags.includes('NO-CARRIER');
  }

  /** Resolves once `hasCarrier(label, ifName) === carrier`; rejects after `timeout` seconds. */
  async waitForCarrier(label: string, ifName: string, carrier: boolean, timeout = 10): Promise<void> {
    const deadline = Date.now() + timeout * 1000;
    while ((await this.hasCarrier(label, ifName)) !== carrier) {
      if (Date.now() > deadline) throw new NetnsError(`${ifName} in ${this.namespace(label)} did not get ${carrier ? 'a' : 'rid of its'} carrier within ${timeout} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sets interface `ifName` of host `label` up or down (a pulled cable, seen from that host). */
  async setLink(label: string, ifName: string, state: 'up' | 'down'): Promise<void> {
    await run(['-n', this.namespace(label), 'link', 'set', ifName, state]);
  }

  /** The argument vector that runs `command ...args` inside host `label`. */
  exec(label: string, command: string, args: readonly string[]): { command: string; args: string[] } {
    const ip = ipPath();
    if (!ip) throw new NetnsError('the `ip` command is missing: install iproute2');
    return { command: ip, args: ['netns', 'exec', this.namespace(label), command, ...args] };
  }

  /** The namespaces this lab created and has not removed yet. */
  namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /** Removes every namespace of the lab (their veth pairs go with them). Stop their processes first. */
  async destroy(): Promise<void> {
    const errors: Error[] = [];
    while (this.#namespaces.length) {
      const ns = this.#namespaces.pop()!;
      await run(['netns', 'del', ns]).catch((e: Error) => errors.push(e));
    }
    if (errors.length) throw new NetnsError(errors.map((e) => e.message).join('; '));
  }
}
