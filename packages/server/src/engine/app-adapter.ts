import { AppLoadError } from '../errors.js';
import type { LoadedApp } from './app-loader.js';
import type { TsgiApplication } from './request-runner.js';

function describeExports(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace);
  if (names.length === 0) return 'the module exports nothing';
  return 'the module exports: ' + names.map((n) => `${n} (${typeof namespace[n]})`).join(', ');
}

/** Turns the loaded module into the TSGI callable the engine runs. */
export function toTsgiApplication(loaded: LoadedApp, appType: string | null | undefined): TsgiApplication {
  if (appType !== null && appType !== undefined && appType !== 'tsgi') {
    throw new AppLoadError(`--app-type ${appType} is not supported by this tsgi build; export a TSGI application(environ, startResponse)`);
  }
  const callable = loaded.callable;
  if (typeof callable !== 'function') {
    throw new AppLoadError(
      `${loaded.location} has no callable "${loaded.callableName}" (TSGI: export function ${loaded.callableName}(environ, startResponse)); ${describeExports(loaded.namespace)}`,
    );
  }
  return callable as TsgiApplication;
}
