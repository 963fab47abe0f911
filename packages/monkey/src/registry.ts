/**
 * Which patches are applied, and the `tsgi:monkey:patch` channel that announces each change.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { UnknownPatchError } from './errors.js';

export type PatchName = 'timers' | 'net' | 'thread';
export const PATCH_NAMES: readonly PatchName[] = ['timers', 'net', 'thread'];

/** Published with `{ name, action: 'patch' | 'unpatch' }` whenever a patch is applied or undone. */
export const patchChannel = diagnosticsChannel.channel('tsgi:monkey:patch');

const applied = new Set<PatchName>();

export function checkName(name: string): PatchName {
  if (!(PATCH_NAMES as readonly string[]).includes(name)) throw new UnknownPatchError(name);
  return name as PatchName;
}

/** True when the patch `name` ("timers", "net" or "thread") is applied. */
export function isPatched(name: PatchName): boolean {
  return applied.has(checkName(name));
}

export function markPatched(name: PatchName, on: boolean): void {
  if (on) applied.add(name);
  else applied.delete(name);
  if (patchChannel.hasSubscribers) patchChannel.publish({ name, action: on ? 'patch' : 'unpatch' });
}
