// A module that binds setTimeout when it is imported (as `from time import sleep` does in Python):
// only a patch applied before its import reaches it.
const capturedSetTimeout = setTimeout;

export function startTimer(callback: () => void, ms: number): NodeJS.Timeout {
  return capturedSetTimeout(callback, ms);
}
