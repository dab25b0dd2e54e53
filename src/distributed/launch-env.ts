/**
 * This process's place in a data-parallel job, read from what the launcher sets in the environment
 * (no MPI call: the main thread needs it to pick its data share and to know whether it writes the
 * outputs, while MPI itself is started in the trainer's thread):
 *
 *   PMI_RANK / PMI_SIZE                       MPICH's mpiexec (Hydra), and the Kubeflow MPI Operator
 *   OMPI_COMM_WORLD_RANK / OMPI_COMM_WORLD_SIZE   Open MPI's mpirun
 *   SLURM_PROCID / SLURM_NTASKS               srun
 *   (none)                                    one process: rank 0 of 1
 *
 * SLURM_* counts only when SLURM_STEP_ID is set too (inside an `srun` step, not a batch script's
 * shell, whose SLURM_NTASKS describes the allocation).
 */
import { PtflowError } from '../errors';

export interface LaunchWorld {
  rank: number;
  size: number;
  /** Where rank and size came from, for messages. */
  source: string;
}

const SOURCES: ReadonlyArray<{ rank: string; size: string; source: string; when?: string }> = [
  { rank: 'PMI_RANK', size: 'PMI_SIZE', source: 'mpiexec (PMI_RANK/PMI_SIZE)' },
  { rank: 'OMPI_COMM_WORLD_RANK', size: 'OMPI_COMM_WORLD_SIZE', source: 'mpirun (OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE)' },
  { rank: 'SLURM_PROCID', size: 'SLURM_NTASKS', source: 'srun (SLURM_PROCID/SLURM_NTASKS)', when: 'SLURM_STEP_ID' },
];

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name] as string;
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min) {
    throw new PtflowError(`environment variable ${name}=${JSON.stringify(raw)}: expected an integer ≥ ${min}`, 2);
  }
  return v;
}

export function launchWorld(env: NodeJS.ProcessEnv = process.env): LaunchWorld {
  for (const s of SOURCES) {
    if (env[s.rank] === undefined || env[s.size] === undefined) continue;
    if (s.when && env[s.when] === undefined) continue;
    const rank = intVar(env, s.rank, 0);
    const size = intVar(env, s.size, 1);
    if (rank >= size) throw new PtflowError(`${s.source}: rank ${rank} is out of range for ${size} processes`, 2);
    return { rank, size, source: s.source };
  }
  return { rank: 0, size: 1, source: 'one process' };
}
