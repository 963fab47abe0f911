// The seed's "crazy example", ported line by line: sleep in a request, make cooperative network
// requests, and go on doing work after the request has been closed.
import { joinAll, sleep, spawn } from '@tsgi/hub';
import { gethostbyname } from '@tsgi/hub/socket';
import type { Environ, StartResponse } from '@tsgi/server';

// Three names from /etc/hosts, and one that fails locally (a label over 63 characters), so the
// example never needs a network.
const BAD_NAME = 'x'.repeat(64) + '.invalid';
const NAMES = ['localhost', 'runsc', 'vm', BAD_NAME];

async function bgTask(): Promise<void> {
  for (let i = 1; i < 10; i++) {
    console.log('background task', i);
    await sleep(2);
  }
}

async function longTask(): Promise<void> {
  for (let i = 1; i < 10; i++) {
    console.log(i);
    await sleep();
  }
}

export async function* application(e: Environ, sr: StartResponse): AsyncGenerator<string> {
  sr('200 OK', [['Content-Type', 'text/html']]);
  const t = spawn(longTask);
  await t.join();
  yield 'sleeping for 3 seconds...\n';
  await sleep(3);
  yield 'done\n';
  yield 'getting some ips...\n';
  const jobs = NAMES.map((name) => spawn(gethostbyname, name));
  await joinAll(jobs, { timeout: 2 });
  for (const j of jobs) {
    yield `ip = ${j.value ?? null}\n`;
  }
  spawn(bgTask); // this task will go on after the request ends
}
