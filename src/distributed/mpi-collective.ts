/**
 * The Collective over MPI (ptflow_mpi.node). Every rank must call the collectives in the same
 * order with buffers of the same length; the addon checks the lengths and the kind of each call
 * across ranks and rejects on every rank instead of hanging when they differ. Calls from several
 * threads of one process are run one at a time in the order they were made.
 */
import type { Collective, CollectiveBuffer, ReduceOp } from './collective';
import type { Launcher } from './launch';
import type { MpiBinding, MpiWorldInfo } from './mpi-binding';

export class MpiCollective implements Collective {
  readonly rank: number;
  readonly size: number;

  constructor(
    private readonly binding: MpiBinding,
    readonly info: MpiWorldInfo,
    readonly launcher: Launcher,
  ) {
    this.rank = info.rank;
    this.size = info.size;
  }

  allreduce(buf: Float32Array | Float64Array, op: ReduceOp): Promise<void> {
    return this.named(() => this.binding.allreduce(buf, op));
  }

  broadcast(buf: CollectiveBuffer, root: number): Promise<void> {
    return this.named(() => this.binding.broadcast(buf, root));
  }

  barrier(): Promise<void> {
    return this.named(() => this.binding.barrier());
  }

  abort(code: number): never {
    this.binding.abort(code);
    // Reached only when MPI is already finalized: nothing is left waiting on this rank.
    return process.exit(code);
  }

  /** Waits for every rank, then finalizes MPI. Call once, last, on every rank (after rank 0 has written its outputs). */
  async close(): Promise<void> {
    if (this.binding.finalized()) return;
    await this.barrier();
    this.binding.finalize();
  }

  /** Errors say which rank saw them. */
  private async named(call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`rank ${this.rank} of ${this.size}: ${msg}`, { cause: e });
    }
  }
}
