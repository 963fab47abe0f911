import diagnostics_channel from 'node:diagnostics_channel';

/** Published by the master for every raised signal: `{ num, origin, registered, workerIds }`. */
export const raiseChannel = diagnostics_channel.channel('tsgi:signals:raise');
/** Published by a worker's receiver for every signal it receives: `{ num, workerId }`. */
export const deliverChannel = diagnostics_channel.channel('tsgi:signals:deliver');
/** Published when a handler fails or a signal cannot be handled: `{ num, workerId, error }`. */
export const errorChannel = diagnostics_channel.channel('tsgi:signals:error');

export interface RaiseMessage {
  num: number;
  origin: string;
  registered: boolean;
  workerIds: number[];
}

export interface DeliverMessage {
  num: number;
  workerId: number;
}

export interface SignalErrorMessage {
  num: number;
  workerId: number;
  error: unknown;
}
