export {
  Greenlet,
  getCurrent,
  iwait,
  joinAll,
  killAll,
  spawn,
  spawnLater,
  wait,
  type GetOptions,
  type JoinAllOptions,
  type KillOptions,
  type LinkCallback,
  type WaitOptions,
  type Waitable,
} from './greenlet.js';
export { Hub, getHub, sleep, type WritableLike } from './hub.js';
export { Timeout, withTimeout, type ExceptionSpec, type WithTimeoutOptions } from './timeout.js';
export {
  Empty,
  Full,
  GreenletExit,
  GreenletStateError,
  HubError,
  InvalidArgumentError,
  LockNotOwnedError,
  SemaphoreOverReleaseError,
} from './errors.js';
export { AsyncResult, Event, type AsyncResultGetOptions } from './event.js';
export { BoundedSemaphore, Lock, RLock, Semaphore, type AcquireOptions } from './lock.js';
export {
  Channel,
  JoinableQueue,
  LifoQueue,
  PriorityQueue,
  Queue,
  pythonCompare,
  type Compare,
  type QueueOptions,
} from './queue.js';
export { Group, Pool, type GroupJoinOptions } from './pool.js';
export type { ReadonlyGreenletList } from './greenlet-list.js';
export { Local, local } from './local.js';
export type { BlockedReport, MonitorOptions } from './monitor.js';
