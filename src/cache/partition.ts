/**
 * Which slice of the corpus this process prepares: `rank` of `worldSize`, from the command line or
 * from the scheduler that launched it, and the contiguous document range that slice covers.
 *
 *   resolvePartition(flags, env) → { rank, worldSize, source }
 *   partRange(n, rank, worldSize) → { start, end }    documents [start, end) of n
 *
 * Sources, first match wins for each value:
 *   --rank / --world-size flags
 *   Slurm array jobs: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (or SLURM_ARRAY_TASK_MIN/MAX,
 *     and SLURM_ARRAY_TASK_STEP when the array has a step: `--array=0-9:2`)
 *   Kubernetes indexed Jobs: JOB_COMPLETION_INDEX; the world size is the Job's `completions`, which
 *     Kubernetes does not export: pass --world-size or set PTFLOW_WORLD_SIZE
 *   PTFLOW_RANK / PTFLOW_WORLD_SIZE (any other launcher)
 * Nothing set: rank 0 of 1.
 */
import { usageError } from '../errors';

/** Flag values as given (strings from the command line, or numbers). */
export interface PartitionFlags {
  rank?: number | string;
  worldSize?: number | string;
}

export interface Partition {
  rank: number;
  worldSize: number;
  /** Where the values came from, for messages ("--rank/--world-size", "Slurm array job", …). */
  source: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function intFrom(value: string | number | undefined, what: string, min: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min) throw usageError(`${what}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

interface EnvGuess {
  rank: number;
  worldSize: number | undefined;
  source: string;
}

function fromSlurm(env: Env): EnvGuess | null {
  const id = intFrom(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID', 0);
  if (id === undefined) return null;
  const min = intFrom(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN', 0) ?? 0;
  const max = intFrom(env.SLURM_ARRAY_TASK_MAX, 'SLURM_ARRAY_TASK_MAX', 0);
  const step = intFrom(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP', 1) ?? 1;
  const count = intFrom(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT', 1);
  if ((id - min) % step !== 0) {
    throw usageError(`SLURM_ARRAY_TASK_ID=${id} is not on the array's grid (min ${min}, step ${step}); use a contiguous array (--array=0-N)`);
  }
  const worldSize = count ?? (max !== undefined ? Math.floor((max - min) / step) + 1 : undefined);
  return { rank: (id - min) / step, worldSize, source: 'Slurm array job (SLURM_ARRAY_TASK_ID)' };
}

function fromKubernetes(env: Env): EnvGuess | null {
  const index = intFrom(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX', 0);
  if (index === undefined) return null;
  return { rank: index, worldSize: undefined, source: 'Kubernetes indexed Job (JOB_COMPLETION_INDEX)' };
}

function fromPtflow(env: Env): EnvGuess | null {
  const rank = intFrom(env.PTFLOW_RANK, 'PTFLOW_RANK', 0);
  if (rank === undefined) return null;
  return { rank, worldSize: undefined, source: 'PTFLOW_RANK' };
}

export function resolvePartition(flags: PartitionFlags, env: Env): Partition {
  const flagRank = intFrom(flags.rank, '--rank', 0);
  const flagWorld = intFrom(flags.worldSize, '--world-size', 1);
  const envWorld = intFrom(env.PTFLOW_WORLD_SIZE, 'PTFLOW_WORLD_SIZE', 1);
  let rank: number;
  let worldSize: number | undefined;
  let source: string;
  if (flagRank !== undefined) {
    rank = flagRank;
    worldSize = flagWorld ?? envWorld;
    source = '--rank';
    if (worldSize === undefined) throw usageError('--rank needs --world-size (or PTFLOW_WORLD_SIZE): how many ranks prepare the corpus');
  } else {
    const guess = fromSlurm(env) ?? fromKubernetes(env) ?? fromPtflow(env);
    if (guess === null) {
      rank = 0;
      worldSize = flagWorld ?? envWorld ?? 1;
      source = 'default';
      if (worldSize > 1) {
        throw usageError(
          `--world-size ${worldSize} without a rank: pass --rank, or run under a Slurm array job (SLURM_ARRAY_TASK_ID), ` +
            'a Kubernetes indexed Job (JOB_COMPLETION_INDEX) or set PTFLOW_RANK',
        );
      }
    } else {
      rank = guess.rank;
      source = guess.source;
      if (flagWorld !== undefined && guess.worldSize !== undefined && flagWorld !== guess.worldSize) {
        throw usageError(`--world-size ${flagWorld} disagrees with the ${guess.source}: its array has ${guess.worldSize} tasks`);
      }
      worldSize = flagWorld ?? guess.worldSize ?? envWorld;
      if (worldSize === undefined) {
        throw usageError(
          `${guess.source} gives rank ${rank} but not the number of ranks: pass --world-size or set PTFLOW_WORLD_SIZE ` +
            '(for an indexed Job: its spec.completions)',
        );
      }
    }
  }
  if (rank >= worldSize) throw usageError(`rank ${rank} is out of range for world size ${worldSize} (from ${source}): ranks are 0…${worldSize - 1}`);
  return { rank, worldSize, source };
}

/** The contiguous documents [start, end) of `n` that `rank` of `worldSize` owns; ranks in order cover 0…n. */
export function partRange(n: number, rank: number, worldSize: number): { start: number; end: number } {
  return { start: Math.floor((n * rank) / worldSize), end: Math.floor((n * (rank + 1)) / worldSize) };
}
