/**
 * Which launcher started this process, and this process's rank and world size, read from the
 * environment the launcher sets. Cheap and side-effect free (MPI is not loaded): the main thread
 * uses it before anything starts to know whether it is rank 0, the one rank that writes outputs.
 *
 *   launcher            variables                                      started by
 *   'open-mpi'          OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK     Open MPI's mpirun
 *   'slurm-pmi'         PMI_RANK / PMI_SIZE with SLURM_STEP_ID         srun --mpi=pmi2 (or pmi1)
 *   'hydra'             PMI_RANK / PMI_SIZE (MPI_LOCALRANKID)          MPICH's mpiexec / mpirun,
 *                                                                      also under the Kubeflow MPI Operator
 *   'slurm-pmix'        PMIX_RANK with SLURM_STEP_NUM_TASKS            srun --mpi=pmix
 *   'none'              none of the above                              a plain `ptflow train`
 *
 * srun without an MPI plugin (SLURM_STEP_NUM_TASKS > 1, no PMI variables) is an error: each task
 * would train alone and all of them would write the same outputs.
 */
import { usageError } from '../errors';

export type Launcher = 'none' | 'hydra' | 'slurm-pmi' | 'slurm-pmix' | 'open-mpi';

export interface Launch {
  launcher: Launcher;
  rank: number;
  size: number;
  /** Rank among the processes of this machine, when the launcher says. */
  localRank?: number;
  /** The variables the rank and size were read from, for messages (e.g. 'PMI_RANK/PMI_SIZE'). */
  source: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const SINGLE_PROCESS: Launch = { launcher: 'none', rank: 0, size: 1, source: 'no launcher variables' };

function count(env: Env, name: string, min: number): number {
  const raw = env[name];
  const n = raw === undefined || !/^\s*\d+\s*$/.test(raw) ? NaN : Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw usageError(`environment: ${name}='${raw ?? ''}' is not an integer >= ${min} (set by the MPI launcher)`);
  }
  return n;
}

function optionalCount(env: Env, name: string): number | undefined {
  const raw = env[name];
  return raw !== undefined && /^\s*\d+\s*$/.test(raw) ? Number(raw) : undefined;
}

function checked(l: Launch, rankVar: string, sizeVar: string): Launch {
  if (l.rank >= l.size) {
    throw usageError(`environment: ${rankVar}=${l.rank} is not below ${sizeVar}=${l.size}`);
  }
  return l;
}

/** The launch this environment describes; throws a usage error (exit 2) naming the variable when it is inconsistent. */
export function launchFromEnv(env: Env = process.env): Launch {
  if (env['OMPI_COMM_WORLD_SIZE'] !== undefined) {
    return checked(
      {
        launcher: 'open-mpi',
        rank: count(env, 'OMPI_COMM_WORLD_RANK', 0),
        size: count(env, 'OMPI_COMM_WORLD_SIZE', 1),
        localRank: optionalCount(env, 'OMPI_COMM_WORLD_LOCAL_RANK'),
        source: 'OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE',
      },
      'OMPI_COMM_WORLD_RANK',
      'OMPI_COMM_WORLD_SIZE',
    );
  }
  if (env['PMI_SIZE'] !== undefined || env['PMI_RANK'] !== undefined) {
    const slurm = env['SLURM_STEP_ID'] !== undefined || env['SLURM_STEPID'] !== undefined;
    return checked(
      {
        launcher: slurm ? 'slurm-pmi' : 'hydra',
        rank: count(env, 'PMI_RANK', 0),
        size: count(env, 'PMI_SIZE', 1),
        localRank: optionalCount(env, slurm ? 'SLURM_LOCALID' : 'MPI_LOCALRANKID'),
        source: 'PMI_RANK/PMI_SIZE',
      },
      'PMI_RANK',
      'PMI_SIZE',
    );
  }
  if (env['PMIX_RANK'] !== undefined && env['SLURM_STEP_NUM_TASKS'] !== undefined) {
    return checked(
      {
        launcher: 'slurm-pmix',
        rank: count(env, 'PMIX_RANK', 0),
        size: count(env, 'SLURM_STEP_NUM_TASKS', 1),
        localRank: optionalCount(env, 'SLURM_LOCALID'),
        source: 'PMIX_RANK/SLURM_STEP_NUM_TASKS',
      },
      'PMIX_RANK',
      'SLURM_STEP_NUM_TASKS',
    );
  }
  const srunTasks = optionalCount(env, 'SLURM_STEP_NUM_TASKS');
  if (srunTasks !== undefined && srunTasks > 1) {
    throw usageError(
      `environment: srun started ${srunTasks} tasks (SLURM_STEP_NUM_TASKS=${srunTasks}) without an MPI plugin, so the ` +
        `tasks cannot find each other: launch with \`srun --mpi=pmi2 ...\` (or run one task)`,
    );
  }
  return SINGLE_PROCESS;
}

/** True on the rank that writes outputs (rank 0, or the only process). */
export function isRankZero(env: Env = process.env): boolean {
  return launchFromEnv(env).rank === 0;
}
