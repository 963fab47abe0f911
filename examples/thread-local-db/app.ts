// Two requests, each in a transaction: GET /wait?key=K holds its transaction open until
// GET /notify?key=K (in a transaction of its own) says so.
//
// The app is laid out like a gevent program on one thread: it touches the database while loading
// (as Django does), which enters "the thread's" connection, and it runs every request's database
// work in a greenlet spawned by a dispatcher greenlet that lives since load time. Every greenlet of
// that thread so inherits the load-time connection: /notify queues behind /wait's open transaction
// on the one shared connection and neither request ever finishes. With --gevent-monkey-patch a
// spawned greenlet starts without its spawner's AsyncLocalStorage values, so each job opens its
// own connection and both requests finish.
import { AsyncResult, Event, Queue, spawn } from '@tsgi/hub';
import type { Environ, StartResponse } from '@tsgi/server';
import { connection } from './thread-local-db.js';

const atLoad = connection();

interface Job {
  path: string;
  key: string;
  result: AsyncResult<string>;
}

const jobs = new Queue<Job>();
const events = new Map<string, Event>();
const eventFor = (key: string): Event => {
  let e = events.get(key);
  if (e === undefined) events.set(key, (e = new Event()));
  return e;
};

async function work({ path, key }: Job): Promise<string> {
  const c = connection();
  if (path === '/wait') {
    await c.transaction(async (tx) => {
      await tx.query(`INSERT INTO waits VALUES ('${key}')`);
      await eventFor(key).wait();
    });
  } else {
    await c.transaction(async (tx) => {
      await tx.query(`INSERT INTO notes VALUES ('${key}')`);
      eventFor(key).set();
    });
  }
  return `${path.slice(1)} ${key} done on connection ${c.id} (${c === atLoad ? 'shared' : 'own'})\n`;
}

spawn(async () => {
  for (;;) {
    const job = await jobs.get();
    spawn(async () => {
      try {
        job.result.set(await work(job));
      } catch (error) {
        job.result.setException(error);
      }
    });
  }
});

export async function application(environ: Environ, startResponse: StartResponse): Promise<string[]> {
  const path = String(environ.PATH_INFO ?? '/');
  if (path !== '/wait' && path !== '/notify') {
    startResponse('404 Not Found', [['Content-Type', 'text/plain']]);
    return ['try /wait?key=K, then /notify?key=K\n'];
  }
  const key = new URLSearchParams(String(environ.QUERY_STRING ?? '')).get('key') ?? 'k';
  const result = new AsyncResult<string>();
  await jobs.put({ path, key, result });
  const body = await result.get();
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [body];
}
