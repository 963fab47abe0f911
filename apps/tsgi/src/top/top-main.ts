// `node dist/top/top-main.js ADDR [--once]`: tsgi top on its own, with the process's streams.
import { runTop } from './run-top.js';

process.exitCode = await runTop(process.argv.slice(2), { stdout: process.stdout, stdin: process.stdin, stderr: process.stderr });
