import type { UpstreamGroupConfig, UpstreamServer } from './config.js';

/** Live state of one server of a group: connections in flight and passive-health bookkeeping. */
export interface Peer {
  readonly server: UpstreamServer;
  active: number;
  fails: number;
  /** ms timestamp of the first failure of the current window. */
  failedAt: number;
  /** ms timestamp until which the peer is skipped (max_fails reached). */
  downUntil: number;
  currentWeight: number;
}

/**
 * One upstream group: nginx's smooth weighted round-robin or least_conn, with max_fails/fail_timeout passive
 * health. `pick(tried)` skips peers already tried for this request and peers marked down.
 */
export class Balancer {
  readonly name: string;
  readonly peers: Peer[];
  readonly mode: 'round_robin' | 'least_conn';
  #rr = 0;
  readonly #now: () => number;

  constructor(group: UpstreamGroupConfig, now: () => number = Date.now) {
    this.name = group.name;
    this.mode = group.balance;
    this.peers = group.servers.map((server) => ({ server, active: 0, fails: 0, failedAt: 0, downUntil: 0, currentWeight: 0 }));
    this.#now = now;
  }

  #available(p: Peer, tried: ReadonlySet<Peer>, now: number): boolean {
    if (tried.has(p)) return false;
    // A group of one is never marked down (nginx does the same): there is nothing else to try.
    if (this.peers.length === 1) return true;
    return p.downUntil <= now;
  }

  /** The next peer to use, or undefined when no live peer is left ("no live upstreams"). */
  pick(tried: ReadonlySet<Peer> = new Set()): Peer | undefined {
    // A group of one (every address written directly in uwsgi_pass/proxy_pass) has nothing to choose.
    if (this.peers.length === 1) return tried.has(this.peers[0]) ? undefined : this.peers[0];
    const now = this.#now();
    const candidates = this.peers.filter((p) => this.#available(p, tried, now));
    if (candidates.length === 0) return undefined;
    if (this.mode === 'least_conn') {
      // Fewest active connections relative to weight; ties go round-robin so equal peers share the load.
      let best = Infinity;
      let ties: Peer[] = [];
      for (const p of candidates) {
        const load = p.active / p.server.weight;
        if (load < best) {
          best = load;
          ties = [p];
        } else if (load === best) ties.push(p);
      }
      if (ties.length === 1) return ties[0];
      return this.#smooth(ties);
    }
    return this.#smooth(candidates);
  }

  /** nginx's smooth weighted round-robin: each pick adds every weight, takes the max, and charges it the total. */
  #smooth(candidates: Peer[]): Peer {
    if (candidates.every((p) => p.server.weight === 1)) {
      // Plain rotation keeps the order stable for equal weights, as nginx does in practice.
      for (let i = 0; i < this.peers.length; i++) {
        const p = this.peers[(this.#rr + i) % this.peers.length];
        if (candidates.includes(p)) {
          this.#rr = (this.peers.indexOf(p) + 1) % this.peers.length;
          return p;
        }
      }
    }
    let total = 0;
    let best = candidates[0];
    for (const p of candidates) {
      p.currentWeight += p.server.weight;
      total += p.server.weight;
      if (p.currentWeight > best.currentWeight) best = p;
    }
    best.currentWeight -= total;
    return best;
  }

  /** A failure that counts for passive health (connect error/timeout, or what next_upstream lists). */
  failed(p: Peer): void {
    if (p.server.maxFails === 0) return;
    const now = this.#now();
    if (now - p.failedAt > p.server.failTimeout * 1000) {
      p.fails = 0;
      p.failedAt = now;
    }
    p.fails++;
    if (p.fails >= p.server.maxFails) {
      p.downUntil = now + p.server.failTimeout * 1000;
      p.fails = 0;
    }
  }

  /** A successful exchange clears the failure window. */
  succeeded(p: Peer): void {
    p.fails = 0;
  }
}
