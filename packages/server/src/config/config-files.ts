import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, extname, resolve, sep } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import { ConfigError } from './errors.js';

/** One `key = value` as written, before it is matched against the option table. */
export interface RawSetting {
  /** The name as written (`workers`, `s`, `plugins`), without dashes. */
  readonly name: string;
  /** undefined for a bare command-line flag. */
  value: string | undefined;
  /** null on the command line. */
  readonly file: string | null;
  readonly line: number | null;
  /** How it was written on the command line (`-s`, `--socket`), for messages. */
  readonly display: string;
}

export type ConfigFormat = 'ini' | 'json' | 'yaml';

/** State shared by every file one parse loads: the first file's magic vars, the last file (for `:section`). */
export interface LoadContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  firstMagic: Record<string, string> | null;
  lastFile: string | null;
  depth: number;
}

/** Include depth beyond which a chain of files is taken for a loop. */
export const MAX_INCLUDE_DEPTH = 16;

const DEFAULT_SECTION = 'uwsgi';

/** `file.ini:section` → file and section. A bare `:section` means the file loaded last (as uWSGI). */
export function splitFileSpec(spec: string, ctx: LoadContext): { file: string; section: string; explicit: boolean } {
  const colon = spec.lastIndexOf(':');
  if (colon < 0) return { file: spec, section: DEFAULT_SECTION, explicit: false };
  const section = spec.slice(colon + 1) || DEFAULT_SECTION;
  let file = spec.slice(0, colon);
  if (file === '') {
    if (ctx.lastFile === null) {
      throw new ConfigError(spec, null, null, 'a bare ":section" needs a config file loaded before it');
    }
    file = ctx.lastFile;
  }
  return { file, section, explicit: spec.slice(colon + 1) !== '' };
}

/**
 * uWSGI's magic variables of a config file, substituted in its text before it is parsed: %d its
 * directory (with a trailing slash), %n its name without extension, %p its absolute path, %s its
 * name, %e its extension, %c the name of its directory, %x the section named after the colon
 * (empty when none was), %o the path as
 * given, %0..%9 the directory's components, %v the working directory, %h the host name, %% a
 * percent sign. Upper-case %D %N %P %S %E %C %X %O are the same for the first file loaded.
 */
export function magicTable(fileAsGiven: string, section: string, ctx: LoadContext): Record<string, string> {
  const full = resolve(ctx.cwd, fileAsGiven);
  const name = basename(full);
  const dir = dirname(full);
  const ext = extname(name);
  const table: Record<string, string> = {
    '%': '%',
    o: fileAsGiven,
    p: full,
    s: name,
    d: dir.endsWith(sep) ? dir : dir + sep,
    e: ext.startsWith('.') ? ext.slice(1) : '',
    n: ext === '' ? name : name.slice(0, -ext.length),
    c: basename(dir),
    x: section,
    v: ctx.cwd,
    h: hostname(),
  };
  const parts = dir.split(sep).filter(Boolean);
  for (let i = 0; i <= 9; i++) table[String(i)] = parts[i] ?? '';
  if (ctx.firstMagic === null) ctx.firstMagic = table;
  for (const k of ['o', 'p', 's', 'd', 'e', 'n', 'c', 'x']) table[k.toUpperCase()] = ctx.firstMagic[k];
  return table;
}

/**
 * Substitutes %X magic variables. Unlike uWSGI, which erases an unknown %X silently, tsgi leaves it
 * as written; `%(` is left for placeholder expansion.
 */
export function applyMagic(text: string, table: Record<string, string>): string {
  return text.replace(/%(.)/gs, (whole, ch: string) => (Object.hasOwn(table, ch) ? table[ch] : whole));
}

function readText(file: string, ctx: LoadContext): string {
  try {
    return readFileSync(resolve(ctx.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (error as Error).message})`;
    throw new ConfigError(file, null, null, why, { cause: error });
  }
}

/** The format a file's extension implies (`include`, and config files given as bare arguments). */
export function formatFromExtension(file: string): ConfigFormat | null {
  const ext = extname(file).toLowerCase();
  if (ext === '.ini') return 'ini';
  if (ext === '.json' || ext === '.js') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return null;
}

/** The format of `FILE[:section]` by FILE's extension, or null. */
export function formatOfSpec(spec: string): ConfigFormat | null {
  const direct = formatFromExtension(spec);
  if (direct !== null) return direct;
  const colon = spec.lastIndexOf(':');
  return colon > 0 ? formatFromExtension(spec.slice(0, colon)) : null;
}

/** Reads one config file (spec: `FILE[:section]`) into raw settings, in file order. */
export function readConfigFile(format: ConfigFormat, spec: string, ctx: LoadContext): RawSetting[] {
  const { file, section, explicit } = splitFileSpec(spec, ctx);
  const text = applyMagic(readText(file, ctx), magicTable(file, explicit ? section : '', ctx));
  ctx.lastFile = file;
  switch (format) {
    case 'ini':
      return parseIni(text, file, section);
    case 'json':
      return parseJsonConfig(text, file, section);
    case 'yaml':
      return parseYamlConfig(text, file, section);
  }
}

/**
 * uWSGI's ini reading (core/ini.c): `[section]` headers; lines starting with `;` or `#` are comments;
 * `key = value` split at the first `=`, both trimmed; a line without `=` is a key with an empty value
 * (so a bare `master` turns it on); repeated keys are repeated flags.
 */
export function parseIni(text: string, file: string, section: string): RawSetting[] {
  const out: RawSetting[] = [];
  let current = '';
  let found = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line[0] === ';' || line[0] === '#') continue;
    if (line[0] === '[') {
      if (!line.endsWith(']')) throw new ConfigError(file, i + 1, null, `malformed section header ${JSON.stringify(line)} (expected [name])`);
      current = line.slice(1, -1).trim();
      if (current === section) found = true;
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (key === '') throw new ConfigError(file, i + 1, null, `a line with no key: ${JSON.stringify(line)}`);
    out.push({ name: key, value, file, line: i + 1, display: key });
  }
  if (!found) {
    throw new ConfigError(file, null, null, `no [${section}] section (uWSGI: *** WARNING: Can't find section "${section}" in INI configuration file ${file} ***)`);
  }
  return out;
}

function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The line of the n-th `"key":` in a JSON text (JSON.parse keeps no positions); null if not found. */
function jsonKeyLine(text: string, key: string, nth: number): number | null {
  const re = new RegExp(`${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`, 'g');
  let m: RegExpExecArray | null;
  let seen = 0;
  while ((m = re.exec(text)) !== null) {
    if (seen++ === nth) return lineOfOffset(text, m.index);
  }
  return null;
}

/** A JSON scalar as uWSGI's json loader turns it into an option value: true → "1", false and null → "0". */
function jsonScalar(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value === true) return '1';
  if (value === false || value === null) return '0';
  return null;
}

/** `{"uwsgi": {"key": value, "list": [v1, v2]}}`; arrays are repeated keys. */
export function parseJsonConfig(text: string, file: string, objectName: string): RawSetting[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, null, null, `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  const obj = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>)[objectName] : undefined;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(file, null, null, `you must define a object named ${objectName} in your JSON data`);
  }
  const out: RawSetting[] = [];
  const seen = new Map<string, number>();
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    const line = jsonKeyLine(text, key, nth + (key === objectName ? 1 : 0));
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const str = jsonScalar(item);
      if (str === null) throw new ConfigError(file, line, key, 'expected a string, number, boolean, null, or an array of them');
      out.push({ name: key, value: str, file, line, display: key });
    }
  }
  return out;
}

function yamlScalarText(node: YamlNode | null | undefined): string | null {
  if (node === null || node === undefined) return '';
  if (!isScalar(node)) return null;
  // The source text, as uWSGI's line-based YAML reader sees it (`0x10` stays `0x10`, `yes` stays `yes`).
  if (typeof node.source === 'string') return node.source;
  return node.value === null ? '' : String(node.value);
}

/** `uwsgi:` mapping of a YAML file; sequences and repeated keys are repeated flags. */
export function parseYamlConfig(text: string, file: string, mappingName: string): RawSetting[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.pos ? lineCounter.linePos(err.pos[0]).line : null;
    throw new ConfigError(file, line, null, `invalid YAML: ${err.message.split('\n')[0]}`, { cause: err });
  }
  const root = doc.contents;
  const top = isMap(root) ? root.items.find((p) => isScalar(p.key) && String(p.key.value) === mappingName) : undefined;
  if (top === undefined || !isMap(top.value)) {
    throw new ConfigError(file, null, null, `you must define a mapping named ${mappingName} in your YAML data`);
  }
  const out: RawSetting[] = [];
  for (const pair of top.value.items) {
    const keyNode = pair.key as YamlNode;
    const line = keyNode?.range ? lineCounter.linePos(keyNode.range[0]).line : null;
    if (!isScalar(keyNode)) throw new ConfigError(file, line, null, 'keys must be plain option names');
    const key = String(keyNode.value);
    const valueNode = pair.value as YamlNode | null;
    const items = isSeq(valueNode) ? (valueNode.items as YamlNode[]) : [valueNode];
    for (const item of items) {
      const str = yamlScalarText(item);
      const itemLine = item?.range ? lineCounter.linePos(item.range[0]).line : line;
      if (str === null) throw new ConfigError(file, itemLine, key, 'expected a scalar or a sequence of scalars');
      out.push({ name: key, value: str, file, line: itemLine, display: key });
    }
  }
  return out;
}
