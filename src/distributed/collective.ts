// The collective operations data-parallel training needs. One implementation per transport:
// `singleProcess` here (a world of one), MPI in its own module. The trainer is written against
// this interface only, so a one-process run and rank 0 of N run the same code.

export type ReduceOp = 'sum' | 'mean';

export type CollectiveBuffer = Float32Array | Float64Array | Uint8Array | Int32Array;

export interface Collective {
  readonly rank: number;
  readonly size: number;
  /** Element-wise over every rank's buffer of the same length, in place; resolves once this rank's buffer holds the result. */
  allreduce(buf: Float32Array | Float64Array, op: ReduceOp): Promise<void>;
  /** Copies `root`'s buffer into every other rank's buffer of the same length. */
  broadcast(buf: CollectiveBuffer, root: number): Promise<void>;
  barrier(): Promise<void>;
  /** Ends every rank of the job now, for a rank that cannot go on (no rank is left waiting in a collective). */
  abort(code: number): never;
}

/** A world of one process: every collective is the identity. */
export const singleProcess: Collective = {
  rank: 0,
  size: 1,
  allreduce: async () => undefined,
  broadcast: async () => undefined,
  barrier: async () => undefined,
  abort: (code: number): never => process.exit(code),
};
