/**
 * The collective the trainer uses: the one-process world for a run of one, else the MPI world
 * (src/distributed/world.ts openWorld), opened in the trainer's own thread. It checks that MPI sees
 * the job the main thread saw in the launcher's environment, since the data shares were cut from it.
 */
import { PtflowError } from '../errors';
import { singleProcess, type Collective } from './collective';
import { MpiCollective, openWorld } from './world';

export interface TrainerWorld {
  rank: number;
  world_size: number;
  /** `ddp_timeout`: seconds a collective waits for every rank before the job ends (0: for ever; absent: the addon's 1800). */
  timeout_s?: number;
  /** `ddp_bucket_cap_mb`: the gradient buckets' size in MiB (absent or null: grad-buckets.ts DEFAULT_BUCKET_BYTES). */
  bucket_mb?: number | null;
}

export function openTrainerCollective(w: TrainerWorld): Collective {
  if (w.world_size === 1) return singleProcess;
  const c = openWorld(process.env);
  if (c.rank !== w.rank || c.size !== w.world_size) {
    throw new PtflowError(`MPI says rank ${c.rank} of ${c.size}, the main thread was told rank ${w.rank} of ${w.world_size}`, 2);
  }
  if (c instanceof MpiCollective && w.timeout_s !== undefined) c.setTimeoutSeconds(w.timeout_s);
  return c;
}
