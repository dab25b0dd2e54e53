/**
 * The collective the trainer uses: the one-process world for a run of one, else the MPI transport
 * (src/distributed/world.ts), opened in the trainer's own thread. It checks that MPI sees the same
 * job as the launcher's environment did on the main thread (launch-env.ts), since the data shares
 * were cut from that.
 */
import { PtflowError } from '../errors';
import { singleProcess, type Collective } from './collective';

export interface TrainerWorld {
  rank: number;
  world_size: number;
}

/** The MPI transport module, loaded only for a world of several processes. */
type Transport = { openWorld(env: NodeJS.ProcessEnv): Collective | Promise<Collective> };

function loadTransport(): Transport {
  const modulePath = './world';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(modulePath) as Transport;
  } catch (e) {
    throw new PtflowError(
      `the launcher started several processes but ptflow has no MPI transport to join them (${(e as Error).message})`,
      2,
    );
  }
}

export async function openTrainerCollective(w: TrainerWorld): Promise<Collective> {
  if (w.world_size === 1) return singleProcess;
  const c = await loadTransport().openWorld(process.env);
  if (c.rank !== w.rank || c.size !== w.world_size) {
    throw new PtflowError(`MPI says rank ${c.rank} of ${c.size}, the launcher's environment said rank ${w.rank} of ${w.world_size}`, 2);
  }
  return c;
}
