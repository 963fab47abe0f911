// A database client in the style of the libraries that deadlock under gevent (Django's per-thread
// connection, psycopg's one-query-at-a-time connection): the "current connection" lives in an
// AsyncLocalStorage, and the first call enters it for the rest of the "thread". Nothing here knows
// about greenlets.
import { AsyncLocalStorage } from 'node:async_hooks';

let nextId = 1;

/** One connection: one query at a time, one transaction at a time. */
export class Connection {
  readonly id = nextId++;
  readonly log: string[] = [];
  #queries: Promise<unknown> = Promise.resolve();
  #transaction: Promise<void> = Promise.resolve();

  /** Runs `sql` after the queries already sent on this connection (a round trip of about 1 ms). */
  query(sql: string): Promise<string> {
    const run = this.#queries.then(
      () =>
        new Promise<string>((resolve) =>
          setTimeout(() => {
            this.log.push(sql);
            resolve(`ok ${sql}`);
          }, 1),
        ),
    );
    this.#queries = run.catch(() => undefined);
    return run;
  }

  /**
   * BEGIN, `fn`, COMMIT (ROLLBACK if it throws). A second transaction on the same connection waits
   * until the first one ends, as the server would keep it waiting on a busy session.
   */
  async transaction<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const previous = this.#transaction;
    let end!: () => void;
    this.#transaction = new Promise<void>((resolve) => {
      end = resolve;
    });
    await previous;
    try {
      await this.query('BEGIN');
      const result = await fn(this);
      await this.query('COMMIT');
      return result;
    } catch (error) {
      await this.query('ROLLBACK');
      throw error;
    } finally {
      end();
    }
  }
}

const current = new AsyncLocalStorage<Connection>();

/** The connection of the current "thread": made and entered on first use, then reused. */
export function connection(): Connection {
  let c = current.getStore();
  if (c === undefined) {
    c = new Connection();
    current.enterWith(c);
  }
  return c;
}

/** The store holding the current connection (for tests and for inheritAcrossSpawn if wanted). */
export const connectionStorage = current;
