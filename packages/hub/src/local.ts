/**
 * Greenlet-local storage (gevent.local). Each greenlet sees its own attributes; a spawned greenlet
 * starts empty (unlike AsyncLocalStorage, which children inherit). The values live on the greenlet
 * and are dropped when it dies.
 */
import { getCurrent } from './greenlet.js';

function dictOf(target: object, create: boolean): Record<PropertyKey, unknown> | undefined {
  const g = getCurrent();
  let byLocal = g._locals;
  if (byLocal === null) {
    if (!create) return undefined;
    byLocal = g._locals = new Map();
  }
  let dict = byLocal.get(target);
  if (dict === undefined && create) {
    dict = Object.create(null) as Record<PropertyKey, unknown>;
    byLocal.set(target, dict);
  }
  return dict;
}

const handler: ProxyHandler<object> = {
  get(target, key, receiver) {
    const dict = dictOf(target, false);
    if (dict !== undefined && key in dict) return dict[key];
    return Reflect.get(target, key, receiver);
  },
  set(target, key, value) {
    dictOf(target, true)![key] = value;
    return true;
  },
  has(target, key) {
    const dict = dictOf(target, false);
    return (dict !== undefined && key in dict) || Reflect.has(target, key);
  },
  deleteProperty(target, key) {
    const dict = dictOf(target, false);
    if (dict !== undefined) delete dict[key];
    return true;
  },
  ownKeys(target) {
    const dict = dictOf(target, false);
    return dict === undefined ? [] : Reflect.ownKeys(dict);
  },
  getOwnPropertyDescriptor(target, key) {
    const dict = dictOf(target, false);
    if (dict === undefined || !(key in dict)) return undefined;
    return { value: dict[key], writable: true, enumerable: true, configurable: true };
  },
  defineProperty(target, key, descriptor) {
    dictOf(target, true)![key] = descriptor.value;
    return true;
  },
};

/** Attributes set on a Local are seen only by the greenlet that set them. */
export class Local {
  [key: string]: any;

  constructor() {
    return new Proxy(this, handler);
  }
}

/** gevent's `local()`: a new greenlet-local object. */
export function local<T extends object = Record<string, any>>(): T & Local {
  return new Local() as T & Local;
}
