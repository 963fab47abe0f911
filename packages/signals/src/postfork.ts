export type PostforkHandler = (workerId: number) => unknown;

/**
 * uwsgidecorators' `@postfork` chain: functions the server runs in each worker once it has started,
 * in the order they were added; one bound to a worker id runs only in that worker.
 */
export class PostforkRegistry {
  readonly #hooks: { handler: PostforkHandler; workerId: number }[] = [];
  readonly #log: (line: string) => void;

  constructor(options: { log?: (line: string) => void } = {}) {
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  add(handler: PostforkHandler, options: { workerId?: number } = {}): void {
    if (typeof handler !== 'function') throw new TypeError('postfork(handler): the handler must be a function');
    this.#hooks.push({ handler, workerId: options.workerId ?? 0 });
  }

  get size(): number {
    return this.#hooks.length;
  }

  /** Runs the chain for `workerId`, awaiting each hook; a hook that throws is logged and the chain goes on. Returns how many ran. */
  async run(workerId: number): Promise<number> {
    let ran = 0;
    for (const { handler, workerId: only } of [...this.#hooks]) {
      if (only > 0 && only !== workerId) continue;
      ran++;
      try {
        await handler(workerId);
      } catch (err) {
        this.#log((err as Error)?.stack ?? String(err));
        this.#log(`postfork hook ${handler.name || '(anonymous)'} failed in worker ${workerId}`);
      }
    }
    return ran;
  }
}
