import { formatSignalClientResult } from '@tsgi/signals';
import { parseAddress, sendSignal } from '@tsgi/uwsgi-protocol';
import type { SignalTarget } from './config/options.js';

/**
 * `tsgi --signal ADDR,NUM`: sends signal NUM to the instance on ADDR over the uwsgi protocol
 * (modifier1 110), prints uWSGI's message and returns uWSGI's exit code (0 delivered, 1 unreachable,
 * 2 rejected, 3 invalid number). Works against tsgi and against real uWSGI.
 */
export async function runSignalClient(target: SignalTarget, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<number> {
  const { address, signum } = target;
  if (!Number.isInteger(signum) || signum < 0 || signum > 255) {
    const result = formatSignalClientResult({ outcome: 'invalid-number', address, num: signum });
    write(result.message);
    return result.exitCode;
  }
  let outcome: 'delivered' | 'rejected' | 'unreachable';
  try {
    outcome = await sendSignal(parseAddress(address), signum, { timeout: 5 });
  } catch {
    outcome = 'unreachable';
  }
  const result = formatSignalClientResult({ outcome, address, num: signum });
  write(result.message);
  return result.exitCode;
}
