import { readFile } from 'node:fs/promises';

/** Resident set size of `pid` in bytes (VmRSS from /proc), or undefined when it is gone. */
export async function readRss(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface RssSampler {
  /** Stops sampling; resolves with the largest RSS seen per pid, in bytes. */
  stop(): Promise<Map<number, number>>;
}

/** Samples the RSS of `pids` every `interval` seconds (default 0.25, as the reference rig) until stopped. */
export function sampleRss(pids: readonly number[], interval = 0.25): RssSampler {
  const peak = new Map<number, number>();
  let running = true;
  const tick = async (): Promise<void> => {
    for (const pid of pids) {
      const rss = await readRss(pid);
      if (rss !== undefined && rss > (peak.get(pid) ?? 0)) peak.set(pid, rss);
    }
  };
  const loop = (async () => {
    while (running) {
      await tick();
      await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    }
    await tick();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** The largest RSS of `pid` in a sampler's result (0 when never seen). */
export function peakRss(result: Map<number, number>, pid: number): number {
  return result.get(pid) ?? 0;
}
