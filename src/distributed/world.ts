/**
 * The world this process trains in. `openWorld()` reads the launcher's environment
 * (launch.ts): one process, or a launch of one rank, gives `singleProcess` without loading MPI;
 * a launch of N > 1 ranks initialises MPI (ptflow_mpi.node) and gives an MpiCollective whose
 * rank and size MPI reports. Callable from the main thread and from worker threads: every call
 * in one process shares one MPI world.
 *
 * Failures: a world of N > 1 without the MPI addon, a launcher's PMI connection lost on the way
 * (pmi-connection.ts), or an MPI that does not see the launcher's world (a different MPI library
 * than the launcher's, srun without --mpi), is a usage error
 * (exit 2) on every rank, saying what to install or change. `failRank()` ends every rank of the
 * job when one rank cannot go on.
 */
import { hostname } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { PtflowError, usageError } from '../errors';
import { singleProcess, type Collective } from './collective';
import { launchFromEnv, type Env, type Launch } from './launch';
import { loadMpiBinding, type MpiBinding } from './mpi-binding';
import { MpiCollective } from './mpi-collective';
import { checkPmiConnection } from './pmi-connection';
import { stderrLine } from './stderr-line';

export { launchFromEnv, isRankZero, type Launch, type Launcher } from './launch';
export { MpiCollective } from './mpi-collective';

export interface OpenWorldOptions {
  /** Another ptflow_mpi.node (tests point this at a missing file). */
  addonPath?: string;
  /**
   * Where the one line naming this rank goes (default stderr; null: nowhere). A launcher that
   * reports a dead process by pid and host (MPICH's "BAD TERMINATION ... PID 1234 RUNNING AT
   * node7") is read against these lines to find the rank.
   */
  announce?: ((line: string) => void) | null;
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

/**
 * Fails fast, before any work, when the launcher started several ranks and the MPI addon cannot
 * be loaded (the same usage error openWorld would raise later); MPI itself is not started.
 * Returns the launch (as launchFromEnv).
 */
export function requireTransport(env: Env = process.env, options: OpenWorldOptions = {}): Launch {
  const launch = launchFromEnv(env);
  if (launch.size > 1) {
    const load = loadMpiBinding(options.addonPath);
    if (!load.ok) throw usageError(noMpiMessage(launch, load.reason));
    if (!load.binding.initialized()) checkPmiConnection(launch, env);
  }
  return launch;
}

/** The world of this process: `singleProcess`, or MPI when the launcher started more than one rank. */
export function openWorld(env: Env = process.env, options: OpenWorldOptions = {}): Collective {
  const launch = launchFromEnv(env);
  if (launch.size === 1) return singleProcess;
  const load = loadMpiBinding(options.addonPath);
  if (!load.ok) throw usageError(noMpiMessage(launch, load.reason));
  const first = !load.binding.initialized();
  if (first) checkPmiConnection(launch, env);
  let info;
  try {
    info = load.binding.init();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PtflowError(`rank ${launch.rank} of ${launch.size}: MPI did not start: ${msg}`, 2);
  }
  const library = info.library.replace(/\s+/g, ' ');
  if (info.size !== launch.size || info.rank !== launch.rank) {
    throw usageError(
      `rank ${launch.rank} of ${launch.size}: the launcher (${launch.source}) started ${launch.size} ranks but MPI ` +
        `(${library || load.file}) sees rank ${info.rank} of ${info.size}. The MPI ptflow was built against ` +
        `must be the launcher's: use MPICH's mpiexec (not Open MPI's mpirun), or \`srun --mpi=pmi2\` under Slurm`,
    );
  }
  const world = new MpiCollective(load.binding, info, launch.launcher);
  const announce = options.announce === undefined ? stderrLine : options.announce;
  if (isMainThread && !exitHooked) {
    exitHooked = true;
    endJobOnEarlyExit(world, load.binding);
  }
  // Once per process (the first thread to open the world).
  if (first) announce?.(`ptflow: rank ${info.rank} of ${info.size}: pid ${process.pid} on ${hostname()} (${launch.launcher}, ${library}${info.sharedMemory ? ', allreduce through shared memory' : ''})`);
  return world;
}

/**
 * A rank whose process ends before closeWorld() (an uncaught exception, process.exit, a signal
 * handler that exits) ends every rank: MPICH's mpiexec would kill the others anyway, but only on a
 * non-zero exit and without naming the rank, and other launchers may leave them waiting.
 */
let exitHooked = false;

function endJobOnEarlyExit(world: MpiCollective, binding: MpiBinding): void {
  process.on('exit', (code) => {
    if (binding.finalized()) return;
    const why = code === 0 ? 'exited before closeWorld() while the other ranks may still wait on it' : `is exiting with code ${code}`;
    stderrLine(`ptflow: rank ${world.rank} of ${world.size} ${why}; ending all ranks`);
    binding.abort(code === 0 ? 1 : code);
  });
}

/**
 * A stop signal reached this rank (SIGINT / SIGTERM): before it waits for the others to finish
 * the step, the others are asked whether they are there, so that a rank whose process is gone
 * (killed, while the launcher signals the rest, as Slurm does) ends the job within seconds naming
 * it, instead of leaving this rank in a collective until the launcher kills it. Nothing for one
 * process, or before MPI started.
 */
export function probeRanksOnStop(env: Env = process.env, options: OpenWorldOptions = {}): void {
  if (launchFromEnv(env).size === 1) return;
  const load = loadMpiBinding(options.addonPath);
  if (load.ok && load.binding.initialized()) load.binding.requestStopProbe();
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
  stderrLine(`ptflow: ${who}: ${msg}${world.size > 1 ? '; ending all ranks' : ''}`);
  return world.abort(code);
}
