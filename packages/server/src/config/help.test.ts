import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatHelp, formatOptionsMarkdown } from './help.js';
import { OPTION_GROUPS, OPTION_TABLE } from './option-table.js';

describe('formatHelp', () => {
  const help = formatHelp({ width: 100 });

  it('lists every option, its short letter and aliases, under its group', () => {
    for (const spec of OPTION_TABLE) {
      assert.ok(help.includes(`--${spec.name}`), spec.name);
      if (spec.short !== null) assert.ok(help.includes(`-${spec.short}, --${spec.name}`), spec.name);
      for (const alias of spec.aliases) assert.ok(help.includes(`--${alias}`), alias);
    }
    const positions = OPTION_GROUPS.map((g) => help.indexOf(`\n${g}:\n`));
    assert.ok(positions.every((p) => p > 0));
    assert.deepEqual([...positions].sort((a, b) => a - b), positions);
    assert.ok(help.indexOf('--gevent N') > help.indexOf('\nLoop engine:\n'));
  });

  it('shows defaults and choices and keeps to the width', () => {
    assert.match(help, /--buffer-size BYTES[\s\S]*?\[default: 4096\]/);
    assert.match(help, /--app-type TYPE[\s\S]*?\[tsgi\|node\|fetch\]/);
    for (const line of help.split('\n')) assert.ok(line.length <= 100 || !line.includes(' '), line);
  });
});

describe('docs/options.md', () => {
  it('is the generated file, up to date (run: node packages/server/scripts/generate-options-doc.mjs)', () => {
    const committed = readFileSync(new URL('../../../../docs/options.md', import.meta.url), 'utf8');
    assert.equal(committed, formatOptionsMarkdown());
  });

  it('has a row for every option with the uWSGI option it mirrors', () => {
    const doc = formatOptionsMarkdown();
    for (const spec of OPTION_TABLE) {
      const head = `| \`--${spec.name}${spec.placeholder === null ? '' : ` ${spec.placeholder}`}\``;
      const row = doc.split('\n').find((l) => l.startsWith(head));
      assert.ok(row, spec.name);
      assert.ok(row.includes(spec.mirrors === null ? '| — |' : `| \`${spec.mirrors}\` |`), spec.name);
    }
  });
});
