export { patchAll, unpatchAll, type PatchAllOptions } from './patch-all.js';
export { patchTimers, unpatchTimers, originalTimers } from './patch-timers.js';
export { patchNet, unpatchNet, bindSocket, socketOwner } from './patch-net.js';
export { patchThread, unpatchThread, inheritAcrossSpawn, isInheritedAcrossSpawn } from './patch-thread.js';
export { isPatched, patchChannel, PATCH_NAMES, type PatchName } from './registry.js';
export { MonkeyError, NotAStoreError, UnknownPatchError } from './errors.js';
