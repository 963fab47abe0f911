export { patchAll, unpatchAll, type PatchAllOptions } from './patch-all.js';
export { patchTimers, unpatchTimers } from './patch-timers.js';
export { isPatched, patchChannel, type PatchName } from './registry.js';
export { MonkeyError, NotAStoreError, UnknownPatchError } from './errors.js';
