/**
 * The world this process trains in. `openWorld()` reads the launcher's environment
 * (launch.ts): one process, or a launch of one rank, gives `singleProcess` without loading MPI;
 * a launch of N > 1 ranks initialises MPI (ptflow_mpi.node) and gives an MpiCollective whose
 * rank and size MPI reports. Callable from the main thread and from worker threads: every call
 * in one process shares one MPI world.
 *
 * Failures: a world of N > 1 without the MPI addon, or an MPI that does not see the launcher's
 * world (a different MPI library than the launcher's, srun without --mpi), is a usage error
 * (exit 2) on every rank, saying what to install or change. `failRank()` ends every rank of the
 * job when one rank cannot go on.
 */
import { writeSync } from 'node:fs';
import { PtflowError, usageError } from '../errors';
import { singleProcess, type Collective } from './collective';
import { launchFromEnv, type Env, type Launch } from './launch';
import { loadMpiBinding } from './mpi-binding';
import { MpiCollective } from './mpi-collective';

export { launchFromEnv, isRankZero, type Launch, type Launcher } from './launch';
export { MpiCollective } from './mpi-collective';

export interface OpenWorldOptions {
  /** Another ptflow_mpi.node (tests point this at a missing file). */
  addonPath?: string;
}

/** What to do when a multi-rank launch finds no MPI transport. */
export function noMpiMessage(launch: Launch, reason: string): string {
  return (
    `rank ${launch.rank} of ${launch.size}: this job was launched as ${launch.size} ranks (${launch.source}) but ` +
    `ptflow has no MPI transport: ${reason}. Install MPICH and rebuild the native addons on every machine: ` +
    '`apt-get install mpich libmpich-dev` (Debian/Ubuntu), then `npm rebuild ptflow` (or `node native/build.js` ' +
    'in the ptflow directory); the rebuild must print "MPI transport built"'
  );
}

/** The world of this process: `singleProcess`, or MPI when the launcher started more than one rank. */
export function openWorld(env: Env = process.env, options: OpenWorldOptions = {}): Collective {
  const launch = launchFromEnv(env);
  if (launch.size === 1) return singleProcess;
  const load = loadMpiBinding(options.addonPath);
  if (!load.ok) throw usageError(noMpiMessage(launch, load.reason));
  let info;
  try {
    info = load.binding.init();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PtflowError(`rank ${launch.rank} of ${launch.size}: MPI did not start: ${msg}`, 2);
  }
  if (info.size !== launch.size || info.rank !== launch.rank) {
    throw usageError(
      `rank ${launch.rank} of ${launch.size}: the launcher (${launch.source}) started ${launch.size} ranks but MPI ` +
        `(${info.library || load.file}) sees rank ${info.rank} of ${info.size}. The MPI ptflow was built against ` +
        `must be the launcher's: use MPICH's mpiexec (not Open MPI's mpirun), or \`srun --mpi=pmi2\` under Slurm`,
    );
  }
  return new MpiCollective(load.binding, info, launch.launcher);
}

/** Ends the world in order: every rank waits for the others, then MPI is finalized. No-op for one process. */
export async function closeWorld(world: Collective): Promise<void> {
  if (world instanceof MpiCollective) await world.close();
}

/**
 * This rank cannot go on: say so on stderr, naming the rank, then end every rank of the job
 * (MPI_Abort), so no rank is left waiting in a collective. In one process: exit with `code`.
 */
export function failRank(world: Collective, err: unknown, code = 1): never {
  const msg = err instanceof Error ? err.message : String(err);
  const who = world.size > 1 ? `rank ${world.rank} of ${world.size} failed` : 'failed';
  try {
    writeSync(2, `ptflow: ${who}: ${msg}${world.size > 1 ? '; ending all ranks' : ''}\n`);
  } catch {
    // stderr closed: end the job anyway
  }
  return world.abort(code);
}
