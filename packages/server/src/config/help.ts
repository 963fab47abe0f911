import { OPTION_GROUPS, OPTION_TABLE, type OptionSpec } from './option-table.js';

function flagText(spec: OptionSpec): string {
  const long = `--${spec.name}${spec.placeholder === null ? '' : ` ${spec.placeholder}`}`;
  return spec.short === null ? `    ${long}` : `-${spec.short}, ${long}`;
}

function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

function helpDetails(spec: OptionSpec): string {
  const parts = [spec.help];
  if (spec.kind !== 'boolean' && spec.kind !== 'list' && spec.defaultText !== '(none)') parts.push(`[default: ${spec.defaultText}]`);
  if (spec.kind === 'list' && spec.defaultText !== '(none)') parts.push(`[default: ${spec.defaultText}]`);
  if (spec.choices !== null) parts.push(`[${spec.choices.join('|')}]`);
  if (spec.aliases.length > 0) parts.push(`(also --${spec.aliases.join(', --')})`);
  return parts.join(' ');
}

/** `tsgi --help`: every option of the table, grouped, wrapped to `width` columns. */
export function formatHelp(options: { width?: number; usage?: string } = {}): string {
  const width = Math.max(60, options.width ?? 100);
  const flagColumn = 36;
  const out: string[] = [
    options.usage ?? 'Usage: tsgi [options] [config.ini|config.json|config.yaml]',
    '',
    'uWSGI\'s gevent loop engine for Node.js: serves application(environ, startResponse) on greenlets.',
    'Every option also works in ini/json/yaml files (--ini, --json, --yaml) under the same name.',
  ];
  for (const group of OPTION_GROUPS) {
    const specs = OPTION_TABLE.filter((s) => s.group === group);
    if (specs.length === 0) continue;
    out.push('', `${group}:`);
    for (const spec of specs) {
      const flag = `  ${flagText(spec)}`;
      const text = wrapText(helpDetails(spec), width - flagColumn);
      if (flag.length >= flagColumn) {
        out.push(flag);
        for (const line of text) out.push(' '.repeat(flagColumn) + line);
      } else {
        out.push(flag.padEnd(flagColumn) + (text[0] ?? ''));
        for (const line of text.slice(1)) out.push(' '.repeat(flagColumn) + line);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** docs/options.md, generated from the option table (packages/server/scripts/generate-options-doc.mjs). */
export function formatOptionsMarkdown(): string {
  const out: string[] = [
    '# tsgi options',
    '',
    '<!-- Generated from packages/server/src/config/option-table.ts by packages/server/scripts/generate-options-doc.mjs. Do not edit by hand. -->',
    '',
    'Every option works on the command line (`--name value`, `--name=value`, `-x value`) and in config files',
    '(`--ini`, `--json`, `--yaml`) under the same name. Lists repeat: give the flag (or the file key) again.',
    'Single values given twice: the later one wins. "uWSGI" names the uWSGI option it mirrors; "—" marks a tsgi-only option.',
    '',
  ];
  for (const group of OPTION_GROUPS) {
    const specs = OPTION_TABLE.filter((s) => s.group === group);
    if (specs.length === 0) continue;
    out.push(`## ${group}`, '', '| option | kind | default | uWSGI | description |', '|---|---|---|---|---|');
    for (const spec of specs) {
      const names = [`\`--${spec.name}${spec.placeholder === null ? '' : ` ${spec.placeholder}`}\``];
      if (spec.short !== null) names.push(`\`-${spec.short}\``);
      for (const alias of spec.aliases) names.push(`\`--${alias}\``);
      const kind = spec.choices === null ? spec.kind : `${spec.kind}: ${spec.choices.join(' \\| ')}`;
      const description = spec.ignoredNote === null ? spec.help : `${spec.help} Note logged: "${spec.ignoredNote}".`;
      out.push(`| ${names.join(', ')} | ${kind} | ${cell(spec.defaultText)} | ${spec.mirrors === null ? '—' : `\`${spec.mirrors}\``} | ${cell(description)} |`);
    }
    out.push('');
  }
  out.push(
    '## Config files',
    '',
    '- `--ini FILE[:section]` reads `[uwsgi]` (or the section named). `;` and `#` start comment lines; `key = value`; a key alone is',
    '  a boolean turned on; a repeated key is a repeated flag.',
    '- `--json FILE[:key]` reads `{"uwsgi": {...}}`; arrays are repeated flags; `true` is `1`, `false` and `null` are `0` (as uWSGI).',
    '- `--yaml FILE[:key]` reads the `uwsgi:` mapping; sequences and repeated keys are repeated flags; values are taken as written.',
    '- A file may load others (`ini = other.ini`, `include = x.yaml`); relative paths are relative to the working directory, as in',
    '  uWSGI (write `%d/other.ini` for "next to this file").',
    '- Magic variables in files: `%d` directory of the file (with trailing slash), `%n` file name without extension, `%s` file name,',
    '  `%e` extension, `%p` absolute path, `%c` name of the containing directory, `%x` section, `%o` path as given, `%0`..`%9`',
    '  directory components, `%v` working directory, `%h` host name, `%%` a percent sign; upper-case letters for the first file.',
    '- `$(NAME)` is the environment variable NAME (`$(NAME:-default)`, `$(NAME-default)` give defaults); `%(key)` is the value of',
    '  another setting or of a placeholder (an unknown key in a file, or `--set-placeholder key=value`).',
    '- Booleans: `false`, `off`, `no`, `0` are false, as in uWSGI; `true`, `on`, `yes`, `1` or an empty value are true.',
    '',
    '## Where tsgi differs from uWSGI',
    '',
    '- uWSGI takes any boolean word other than false/off/no/0 as true (`master = flase` enables the master); tsgi refuses it.',
    '- An unset `$(NAME)` without a default is an error (uWSGI leaves the text as written); an unknown `%X` magic variable',
    '  stays as written (uWSGI erases it).',
    '- A key in a file that is neither an option nor referenced as `%(key)` is an error with a suggestion (uWSGI ignores it).',
    '- A missing `[uwsgi]` section is an error (uWSGI logs a warning and carries on without it).',
    '- `--threads N` (N > 1) is refused: uWSGI accepts it with `--gevent` and corrupts memory (issue #858).',
    '- `--socket-timeout` defaults to 30, the value uWSGI forces with `--gevent`; an explicit lower value is kept (with',
    '  uWSGI\'s warning) wherever it appears on the line.',
    '- Sizes accept k/m/g suffixes; seconds may be fractional.',
    '- `UWSGI_*` environment variables are not read as options.',
    '',
  );
  return out.join('\n');
}
