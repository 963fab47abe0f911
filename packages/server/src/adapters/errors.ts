import { TsgiError } from '../errors.js';

/** What a Node request listener wrote could not be turned into a TSGI response (a tsgi bug if it ever happens: report it). */
export class NodeResponseError extends TsgiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSGI_ERR_NODE_RESPONSE', `${message}; please report this with the app's route`, options);
  }
}

/** A fetch handler resolved to something that is not a `Response`. */
export class FetchResponseError extends TsgiError {
  constructor(got: unknown) {
    const what = got === null ? 'null' : typeof got === 'object' ? `an object (${Object.prototype.toString.call(got)})` : typeof got;
    super('TSGI_ERR_FETCH_RESPONSE', `the fetch handler returned ${what}; return (or resolve to) a Response, e.g. new Response('hello')`);
  }
}

/** An adapter was given something it cannot call. */
export class AdapterArgumentError extends TsgiError {
  constructor(message: string) {
    super('TSGI_ERR_ADAPTER_ARGUMENT', message);
  }
}
