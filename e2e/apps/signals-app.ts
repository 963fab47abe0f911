// The app of the multi-process signal tests: handlers append "<signal> worker <id>" lines to the
// file named by $SIGNAL_LOG, so the test sees which worker ran what.
import { appendFileSync } from 'node:fs';
import { sleep } from '@tsgi/hub';
import type { Environ, StartResponse } from '@tsgi/server';
import uwsgi from '@tsgi/server/uwsgi';

const LOG = process.env.SIGNAL_LOG!;
const record = (what: string) => appendFileSync(LOG, `${what} worker ${uwsgi.workerId()}\n`);

// Registered at import in every worker, as uwsgidecorators users do: the master keeps one entry
// per number, and the timer below is one timer for the whole instance, not one per worker.
void uwsgi.registerSignal(17, 'workers', () => record('17'));
void uwsgi.registerSignal(18, 'worker2', () => record('18'));
void uwsgi.registerSignal(19, 'worker', async () => {
  record('19-start');
  await sleep(2);
  record('19-end');
});
void uwsgi.registerSignal(20, 'worker', () => record('20'));
if (process.env.SIGNAL_TIMER) {
  void uwsgi.registerSignal(21, 'worker', () => record('timer'));
  void uwsgi.addTimer(21, 1);
}
if (process.env.SIGNAL_FILE) {
  void uwsgi.registerSignal(22, 'workers', () => record('file'));
  void uwsgi.addFileMonitor(22, process.env.SIGNAL_FILE);
}
void uwsgi.registerSignal(23, 'worker', () => {
  throw new Error('handler 23 fails on purpose');
});

export async function* application(environ: Environ, startResponse: StartResponse): AsyncGenerator<string> {
  const q = new URLSearchParams(environ.QUERY_STRING);
  if (environ.PATH_INFO === '/raise') {
    const num = Number(q.get('sig'));
    const result = await uwsgi.signal(num);
    startResponse('200 OK', [['Content-Type', 'application/json']]);
    yield JSON.stringify({ worker: uwsgi.workerId(), accepted: result.accepted, workerIds: result.workerIds });
    return;
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  yield `hello from worker ${uwsgi.workerId()}`;
}
