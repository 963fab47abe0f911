import { existsSync, statSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppLoadError } from '../errors.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs', '.cts'];
let hooksRegistered = false;

/** Makes `import()` of TypeScript files work in this process (idempotent). */
export function registerTypeScriptLoader(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  register('./typescript-loader-hooks.js', import.meta.url);
}

export interface AppSpec {
  /** `--module` value: `myapp`, `myapp:callable`, `pkg.sub`, a path, or a package name. */
  module?: string;
  /** `--wsgi-file` value: a path. */
  file?: string;
  /** `--callable`; default `application`. */
  callable?: string;
  /** Directory names are resolved against (after --chdir). */
  cwd: string;
}

export interface LoadedApp {
  /** Absolute path or package specifier that was imported. */
  location: string;
  callableName: string;
  /** The module namespace, so adapters can look at its other exports. */
  namespace: Record<string, unknown>;
  /** The export named by the callable (may be undefined when only other exports exist). */
  callable: unknown;
}

function fileCandidates(base: string): string[] {
  const out = [base];
  for (const ext of EXTENSIONS) out.push(base + ext);
  for (const ext of EXTENSIONS) out.push(join(base, 'index' + ext));
  return out;
}

function findFile(spec: string, cwd: string): string | undefined {
  const base = isAbsolute(spec) ? spec : resolvePath(cwd, spec);
  const dotted = /^[\w-]+(\.[\w-]+)+$/.test(spec) && !EXTENSIONS.some((e) => spec.endsWith(e)) ? resolvePath(cwd, spec.replace(/\./g, '/')) : undefined;
  for (const candidate of [...fileCandidates(base), ...(dotted ? fileCandidates(dotted) : [])]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Splits `module:callable` (a Windows-free world: the last colon separates the callable). */
export function splitModuleSpec(value: string): { module: string; callable?: string } {
  const colon = value.lastIndexOf(':');
  if (colon > 0 && /^[A-Za-z_$][\w$]*$/.test(value.slice(colon + 1))) {
    return { module: value.slice(0, colon), callable: value.slice(colon + 1) };
  }
  return { module: value };
}

/** Resolves and imports the app module the way `--module`/`--wsgi-file`/`--callable` describe it. */
export async function loadApp(spec: AppSpec): Promise<LoadedApp> {
  const raw = spec.file ?? spec.module;
  if (raw === undefined || raw === '') throw new AppLoadError('no app given: use --module NAME[:callable] or --wsgi-file PATH');
  const split = spec.file ? { module: spec.file } : splitModuleSpec(raw);
  const callableName = split.callable ?? spec.callable ?? 'application';
  let location = findFile(split.module, spec.cwd);
  let url: string;
  if (location !== undefined) {
    url = pathToFileURL(location).href;
  } else {
    try {
      location = createRequire(join(spec.cwd, 'noop.js')).resolve(split.module);
      url = pathToFileURL(location).href;
    } catch (cause) {
      throw new AppLoadError(
        `unable to find app module "${split.module}" (looked for ${split.module}{${EXTENSIONS.join(',')}} and ${split.module}/index.* in ${spec.cwd}, then as a package)`,
        { cause },
      );
    }
  }
  if (/\.(ts|mts|cts|tsx)$/.test(location)) registerTypeScriptLoader();
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    const detail = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    throw new AppLoadError(`unable to load app module ${location}:\n${detail}`, { cause });
  }
  return { location, callableName, namespace, callable: namespace[callableName] };
}
