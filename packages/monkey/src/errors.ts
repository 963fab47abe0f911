/** Every error this package throws carries a stable `code`. */
export class MonkeyError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** `patchAll({ ... })` or `isPatched(name)` named a patch that does not exist. */
export class UnknownPatchError extends MonkeyError {
  readonly patch: string;
  constructor(patch: string) {
    super(
      'TSGI_ERR_MONKEY_UNKNOWN_PATCH',
      `unknown patch ${JSON.stringify(patch)}: the patches are "timers", "net" and "thread" (gevent.monkey's time, socket and thread)`,
    );
    this.patch = patch;
  }
}

/** `inheritAcrossSpawn()` was given something that is not an AsyncLocalStorage. */
export class NotAStoreError extends MonkeyError {
  constructor(what: unknown) {
    super(
      'TSGI_ERR_MONKEY_NOT_A_STORE',
      `inheritAcrossSpawn() takes an AsyncLocalStorage instance, got ${what === null ? 'null' : typeof what}; pass the store itself (for OpenTelemetry: the context manager's store, see the README)`,
    );
  }
}
