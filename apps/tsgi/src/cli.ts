import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTop } from './top/index.js';
import { edgeFrontRouter, formatHelp, parseCommandLine, runServer, runSignalClient, TSGI_VERSION, type ParsedCommandLine } from '@tsgi/server';

/** The tsgi-edge program, started as the `--http` front router (uWSGI's `--http` starts its HTTP router the same way). */
function edgeBin(): string {
  // tsgi-edge exports only its library entry (dist/index.js); its bin sits beside dist/.
  const entry = fileURLToPath(import.meta.resolve('tsgi-edge'));
  return join(dirname(entry), '..', 'bin', 'tsgi-edge.js');
}

/** The `tsgi` command: parse, hand over to @tsgi/server, turn the outcome into an exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'top') return runTop(argv.slice(1), { stdout: process.stdout, stdin: process.stdin, stderr: process.stderr });
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(argv, { env: process.env, cwd: process.cwd() });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const exitCode = (err as { exitCode?: number }).exitCode;
    process.stderr.write(`tsgi: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    return typeof exitCode === 'number' && exitCode > 0 ? exitCode : 1;
  }
  for (const note of parsed.notes) process.stderr.write(`${note}\n`);
  switch (parsed.mode) {
    case 'help':
      process.stdout.write(formatHelp());
      return 0;
    case 'version':
      process.stdout.write(`${TSGI_VERSION}\n`);
      return 0;
    case 'signal-client':
      return runSignalClient(parsed.options.signal!);
    case 'serve':
      if (parsed.options.listeners.length === 0 && parsed.options.http.length === 0) {
        process.stderr.write('tsgi: no socket to serve on: give --socket ADDR, --http-socket ADDR or --http ADDR [TSGI_ERR_NO_SOCKET]\n');
        return 1;
      }
      return runServer(parsed.options, {
        cwd: process.cwd(),
        ...(parsed.options.http.length > 0 ? { startFrontRouter: edgeFrontRouter(edgeBin()) } : {}),
      });
  }
}
