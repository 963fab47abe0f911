import { formatHelp, parseCommandLine, runServer, TSGI_VERSION, type ParsedCommandLine } from '@tsgi/server';

/** The `tsgi` command: parse, hand over to @tsgi/server, turn the outcome into an exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(argv, { env: process.env, cwd: process.cwd() });
  } catch (err) {
    const code = (err as { code?: string }).code;
    process.stderr.write(`tsgi: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    return 1;
  }
  for (const note of parsed.notes) process.stderr.write(`${note}\n`);
  switch (parsed.mode) {
    case 'help':
      process.stdout.write(formatHelp());
      return 0;
    case 'version':
      process.stdout.write(`${TSGI_VERSION}\n`);
      return 0;
    default:
      return runServer(parsed.options, { cwd: process.cwd() });
  }
}
