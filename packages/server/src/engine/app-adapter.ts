import diagnostics_channel from 'node:diagnostics_channel';
import { fromFetch, type FetchHandler } from '../adapters/fetch-handler.js';
import { fromNodeListener, type NodeRequestListener } from '../adapters/node-listener.js';
import { AppLoadError } from '../errors.js';
import type { LoadedApp } from './app-loader.js';
import type { TsgiApplication } from './request-runner.js';

export type AppType = 'tsgi' | 'node' | 'fetch';

export interface DetectedApp {
  application: TsgiApplication;
  type: AppType;
  /** The export it came from (`application`, `app`, `default`, ...). */
  exportName: string;
  /** What was found, for the startup log: `an Express application`, `a fetch handler object`, ... */
  description: string;
}

const detectedChannel = diagnostics_channel.channel('tsgi:server:app:detected');

/** Exports looked at for a Node listener or a framework app, in this order, after the callable. */
const NODE_NAMES = ['app', 'default', 'handler', 'listener', 'server'];
/** Exports looked at for a fetch handler, in this order, after the callable. */
const FETCH_NAMES = ['fetch', 'default', 'app', 'handler'];

type Framework = { type: 'node'; listener: () => Promise<NodeRequestListener>; description: string } | { type: 'fetch'; handler: { fetch: FetchHandler }; description: string };

const isFn = (v: unknown): v is (...args: unknown[]) => unknown => typeof v === 'function';
const isObj = (v: unknown): v is Record<string, unknown> => (typeof v === 'object' && v !== null) || typeof v === 'function';

/** Recognises the app objects the frameworks export; plain functions are not decided here. */
function frameworkOf(value: unknown): Framework | null {
  if (!isObj(value)) return null;
  // Fastify: an instance with routing() and ready(); its http.Server carries the full request handler.
  if (isFn(value.routing) && isFn(value.ready) && isObj(value.server)) {
    const fastify = value as { ready(): Promise<unknown>; routing: NodeRequestListener; server: { listeners(e: string): unknown[] } };
    return {
      type: 'node',
      description: 'a Fastify instance',
      listener: async () => {
        await fastify.ready();
        const [onRequest] = fastify.server.listeners('request');
        return isFn(onRequest) ? (onRequest as NodeRequestListener) : (req, res) => fastify.routing(req, res);
      },
    };
  }
  // An http.Server (or anything with 'request' listeners and listen()): emit to it as Node's server would.
  if (isFn(value.listen) && isFn(value.listeners) && isFn(value.emit) && (value.listeners as (e: string) => unknown[]).call(value, 'request').length > 0) {
    const server = value as { emit(event: string, ...args: unknown[]): boolean };
    return { type: 'node', description: "an http.Server (its 'request' listeners)", listener: async () => (req, res) => void server.emit('request', req, res) };
  }
  // Koa: an application with callback() and use().
  if (isFn(value.callback) && isFn(value.use)) {
    const koa = value as { callback(): NodeRequestListener };
    return { type: 'node', description: 'a Koa application (app.callback())', listener: async () => koa.callback() };
  }
  // Express: the app is itself a (req, res, next) function, with handle(), use() and listen().
  if (isFn(value) && isFn(value.handle) && isFn(value.use) && isFn(value.listen)) {
    return { type: 'node', description: 'an Express application', listener: async () => value as NodeRequestListener };
  }
  // Hono, itty-router, `export default { fetch }`: an object with a fetch method.
  if (!isFn(value) && isFn(value.fetch)) {
    return { type: 'fetch', description: 'an object with a fetch method', handler: value as { fetch: FetchHandler } };
  }
  return null;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (isFn(value)) return `function/${value.length}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name;
    const keys = Object.keys(value).slice(0, 6);
    return `${ctor && ctor !== 'Object' ? ctor : 'object'}${keys.length ? ` {${keys.join(', ')}${Object.keys(value).length > 6 ? ', ...' : ''}}` : ''}`;
  }
  return typeof value;
}

function describeExports(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace);
  if (names.length === 0) return 'the module exports nothing';
  return 'the module exports: ' + names.map((n) => `${n} (${describeValue(namespace[n])})`).join(', ');
}

async function fromFramework(framework: Framework, exportName: string): Promise<DetectedApp> {
  if (framework.type === 'fetch') {
    return { application: fromFetch(framework.handler), type: 'fetch', exportName, description: framework.description };
  }
  let listener: NodeRequestListener;
  try {
    listener = await framework.listener();
  } catch (cause) {
    const detail = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    throw new AppLoadError(`${framework.description} (export ${exportName}) failed to get ready:\n${detail}`, { cause });
  }
  return { application: fromNodeListener(listener), type: 'node', exportName, description: framework.description };
}

function asNode(value: unknown, exportName: string): Promise<DetectedApp> | null {
  const framework = frameworkOf(value);
  if (framework !== null) return framework.type === 'node' ? fromFramework(framework, exportName) : null;
  if (!isFn(value)) return null;
  return Promise.resolve({ application: fromNodeListener(value as NodeRequestListener), type: 'node', exportName, description: 'a Node request listener' });
}

function asFetch(value: unknown, exportName: string): DetectedApp | null {
  const framework = frameworkOf(value);
  if (framework !== null) return framework.type === 'fetch' ? { application: fromFetch(framework.handler), type: 'fetch', exportName, description: framework.description } : null;
  if (!isFn(value)) return null;
  return { application: fromFetch(value as FetchHandler), type: 'fetch', exportName, description: 'a fetch handler' };
}

async function detect(loaded: LoadedApp, appType: AppType | null): Promise<DetectedApp | null> {
  const ns = loaded.namespace;
  const name = loaded.callableName;
  const has = (n: string): boolean => n in ns && ns[n] !== undefined;
  if (appType === 'tsgi') {
    return isFn(loaded.callable) ? { application: loaded.callable as TsgiApplication, type: 'tsgi', exportName: name, description: 'a TSGI application' } : null;
  }
  // With a type given, a callable named by --callable/:callable comes first; the default name last.
  const withCallable = (names: string[]): string[] => (name === 'application' ? [...names, name] : [name, ...names]);
  if (appType === 'node') {
    for (const n of withCallable(NODE_NAMES)) if (has(n)) {
      const found = asNode(ns[n], n);
      if (found) return found;
    }
    return null;
  }
  if (appType === 'fetch') {
    for (const n of withCallable(FETCH_NAMES)) if (has(n)) {
      const found = asFetch(ns[n], n);
      if (found) return found;
    }
    return null;
  }
  // Detected: the callable (an app object there is served as such; a plain function is TSGI) ...
  if (has(name)) {
    const framework = frameworkOf(loaded.callable);
    if (framework !== null) return fromFramework(framework, name);
    if (isFn(loaded.callable)) return { application: loaded.callable as TsgiApplication, type: 'tsgi', exportName: name, description: 'a TSGI application' };
  }
  // ... then framework apps and listeners, where a plain function taking (req, res) is a Node listener
  // and one taking (request) a fetch handler ...
  for (const n of NODE_NAMES) {
    if (!has(n)) continue;
    const value = ns[n];
    const framework = frameworkOf(value);
    if (framework !== null) return fromFramework(framework, n);
    if (isFn(value)) {
      return value.length >= 2
        ? { application: fromNodeListener(value as NodeRequestListener), type: 'node', exportName: n, description: 'a Node request listener' }
        : { application: fromFetch(value as FetchHandler), type: 'fetch', exportName: n, description: 'a fetch handler' };
    }
  }
  // ... then a `fetch` export.
  if (has('fetch')) return asFetch(ns.fetch, 'fetch');
  return null;
}

function lookedFor(type: AppType | null, name: string): string {
  switch (type) {
    case 'tsgi':
      return `export function ${name}(environ, startResponse)`;
    case 'node':
      return `a Node request listener or framework app as export ${[...NODE_NAMES, name].join(', ')} (Express app, Koa app, Fastify instance, http.Server, (req, res) => ...)`;
    case 'fetch':
      return `a fetch handler as export ${[...FETCH_NAMES, name].join(', ')} ((request) => Response, or an object with fetch() such as a Hono app)`;
    default:
      return `a TSGI ${name}(environ, startResponse), a Node listener or framework app (${NODE_NAMES.join(', ')}), or a fetch handler (fetch, default: { fetch })`;
  }
}

/**
 * Finds what the loaded module serves and turns it into the TSGI callable the engine runs
 * (see docs/tsgi-spec.md, "Node and fetch apps", for the detection order). Fastify instances are
 * made ready here, so a plugin that fails stops the worker at startup, not at the first request.
 */
export async function detectApp(loaded: LoadedApp, appType: string | null | undefined): Promise<DetectedApp> {
  const type = appType === undefined || appType === null ? null : appType;
  if (type !== null && type !== 'tsgi' && type !== 'node' && type !== 'fetch') {
    throw new AppLoadError(`--app-type ${type} is not one of tsgi, node, fetch`);
  }
  const found = await detect(loaded, type);
  if (found === null) {
    const wanted = lookedFor(type, loaded.callableName);
    throw new AppLoadError(
      `${loaded.location} has nothing tsgi can serve${type ? ` as --app-type ${type}` : ''}: looked for ${wanted}; ${describeExports(loaded.namespace)}`,
    );
  }
  if (detectedChannel.hasSubscribers) detectedChannel.publish({ location: loaded.location, type: found.type, exportName: found.exportName, description: found.description });
  return found;
}

/** Turns the loaded module into the TSGI callable the engine runs (see `detectApp`). */
export async function toTsgiApplication(loaded: LoadedApp, appType: string | null | undefined): Promise<TsgiApplication> {
  return (await detectApp(loaded, appType)).application;
}
