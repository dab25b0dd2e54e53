import { PtflowError } from '../errors';
import { launchFromEnv, isRankZero, type Env, type Launch } from './launch';

// The variables each launcher really sets (MPICH 4.0 hydra printed by `mpiexec -n 2 env`;
// Slurm's and Open MPI's from their documentation), with what ptflow must read from them.
const table: [string, Env, Partial<Launch>][] = [
  ['no launcher', { HOME: '/root' }, { launcher: 'none', rank: 0, size: 1 }],
  ['MPICH mpiexec, rank 1 of 2', { PMI_RANK: '1', PMI_SIZE: '2', PMI_FD: '8', MPI_LOCALRANKID: '1', MPI_LOCALNRANKS: '2' }, { launcher: 'hydra', rank: 1, size: 2, localRank: 1 }],
  ['MPICH mpiexec -n 1', { PMI_RANK: '0', PMI_SIZE: '1', PMI_FD: '6' }, { launcher: 'hydra', rank: 0, size: 1 }],
  ['Kubeflow MPIJob worker (hydra over ssh)', { PMI_RANK: '3', PMI_SIZE: '4', MPI_LOCALRANKID: '0', HOSTNAME: 'train-worker-3' }, { launcher: 'hydra', rank: 3, size: 4, localRank: 0 }],
  ['srun --mpi=pmi2', { PMI_RANK: '5', PMI_SIZE: '8', PMI_FD: '4', SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_STEP_NUM_TASKS: '8', SLURM_STEP_ID: '0', SLURM_LOCALID: '1' }, { launcher: 'slurm-pmi', rank: 5, size: 8, localRank: 1 }],
  ['srun --mpi=pmix', { PMIX_RANK: '2', SLURM_PROCID: '2', SLURM_STEP_NUM_TASKS: '4', SLURM_STEP_ID: '0', SLURM_LOCALID: '0' }, { launcher: 'slurm-pmix', rank: 2, size: 4, localRank: 0 }],
  ['Open MPI mpirun', { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '3', OMPI_COMM_WORLD_LOCAL_RANK: '1' }, { launcher: 'open-mpi', rank: 1, size: 3, localRank: 1 }],
  ['sbatch script itself (no srun step)', { SLURM_JOB_ID: '77', SLURM_NTASKS: '8', SLURM_PROCID: '0' }, { launcher: 'none', rank: 0, size: 1 }],
  ['srun -n 1 without MPI', { SLURM_STEP_NUM_TASKS: '1', SLURM_PROCID: '0', SLURM_STEP_ID: '0' }, { launcher: 'none', rank: 0, size: 1 }],
];

describe('launchFromEnv', () => {
  test.each(table)('%s', (_name, env, want) => {
    expect(launchFromEnv(env)).toMatchObject(want);
  });

  test('rank zero is known from the environment alone', () => {
    expect(isRankZero({ PMI_RANK: '0', PMI_SIZE: '2' })).toBe(true);
    expect(isRankZero({ PMI_RANK: '1', PMI_SIZE: '2' })).toBe(false);
    expect(isRankZero({})).toBe(true);
  });

  const bad: [string, Env, RegExp][] = [
    ['rank not a number', { PMI_RANK: 'x', PMI_SIZE: '2' }, /PMI_RANK='x' is not an integer >= 0/],
    ['size zero', { PMI_RANK: '0', PMI_SIZE: '0' }, /PMI_SIZE='0' is not an integer >= 1/],
    ['size missing', { PMI_RANK: '0' }, /PMI_SIZE='' is not an integer/],
    ['rank beyond size', { OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '3' }, /OMPI_COMM_WORLD_RANK=3 is not below OMPI_COMM_WORLD_SIZE=3/],
    ['srun without --mpi', { SLURM_STEP_NUM_TASKS: '4', SLURM_PROCID: '2', SLURM_STEP_ID: '0' }, /srun started 4 tasks .* without an MPI plugin.*srun --mpi=pmi2/],
  ];
  test.each(bad)('%s: a usage error naming the variable', (_name, env, message) => {
    let err: unknown;
    try {
      launchFromEnv(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as PtflowError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
  });
});
