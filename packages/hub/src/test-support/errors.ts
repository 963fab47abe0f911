import { getHub } from '../hub.js';

/** Captures what the hub prints for failed greenlets while `fn` runs. */
export async function captureHubErrors<R>(fn: (lines: string[]) => Promise<R>): Promise<R> {
  const hub = getHub();
  const previous = hub.exceptionStream;
  const lines: string[] = [];
  hub.exceptionStream = { write: (s: string) => lines.push(s) };
  try {
    return await fn(lines);
  } finally {
    hub.exceptionStream = previous;
  }
}
