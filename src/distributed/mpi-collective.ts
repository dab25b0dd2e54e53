/**
 * The Collective over MPI (ptflow_mpi.node). Every rank must call the collectives in the same
 * order with buffers of the same length; the addon checks the lengths and the kind of each call
 * across ranks and rejects on every rank instead of hanging when they differ. Calls from several
 * threads of one process are run one at a time in the order they were made.
 *
 * A collective that waits longer than the collective timeout (`ddp_timeout`, set with
 * `setTimeoutSeconds`) because a rank never joins it (its process stopped, its JavaScript stuck in
 * a loop) ends the job from this rank: the message names the collective and says what each other
 * rank is doing, then MPI_Abort takes every rank down (the timed-out call cannot be withdrawn, so
 * this rank cannot go on, and the stuck rank cannot end itself).
 */
import type { Collective, CollectiveBuffer, ReduceOp } from './collective';
import type { Launcher } from './launch';
import type { MpiBinding, MpiWorldInfo } from './mpi-binding';
import { stderrLine } from './stderr-line';

/** The addon's error code for a collective that waited past the timeout. */
const TIMEOUT_CODE = 'PTFLOW_MPI_TIMEOUT';
/** The exit code MPI_Abort passes to the launcher after a timeout (as `timeout(1)`). */
export const TIMEOUT_EXIT_CODE = 124;

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

  /** Seconds a collective may wait for the other ranks before the job is ended (0: for ever). Process-wide. */
  setTimeoutSeconds(seconds: number): void {
    this.binding.setTimeoutSeconds(seconds);
  }

  timeoutSeconds(): number {
    return this.binding.timeoutSeconds();
  }

  /** Errors say which rank saw them; a timeout ends the job (see the top of this file). */
  private async named(call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if ((e as { code?: unknown } | null)?.code === TIMEOUT_CODE) {
        // abort() waits until the launcher has read this line before MPI_Abort.
        stderrLine(`ptflow: rank ${this.rank} of ${this.size}: ${msg}; ending all ranks`);
        this.abort(TIMEOUT_EXIT_CODE);
      }
      throw new Error(`rank ${this.rank} of ${this.size}: ${msg}`, { cause: e });
    }
  }
}
