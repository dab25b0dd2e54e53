/**
 * The connection a PMI launcher (MPICH's hydra, `srun --mpi=pmi2`) hands each rank: a socket the
 * rank inherits, named by `PMI_FD`. MPI_Init talks to the launcher through it. A program between
 * the launcher and ptflow that starts ptflow as a child of its own can lose it: Node (and so `npx`)
 * opens inherited descriptors close-on-exec and passes only stdio to the processes it starts. MPI
 * then fails in ways that name nothing useful (one rank "write_line error", another a segfault), so
 * the socket is checked before MPI starts.
 *
 *   checkPmiConnection(launch, env) → throws a usage error naming the way to launch that works
 */
import { fstatSync } from 'node:fs';
import { usageError } from '../errors';
import type { Env, Launch } from './launch';

export type FdKind = 'socket' | 'other' | 'closed';

export function fdKind(fd: number): FdKind {
  try {
    return fstatSync(fd).isSocket() ? 'socket' : 'other';
  } catch {
    return 'closed';
  }
}

export function checkPmiConnection(launch: Launch, env: Env, kindOf: (fd: number) => FdKind = fdKind): void {
  const raw = env['PMI_FD'];
  if (raw === undefined || raw === '') return; // PMI over a port (PMI_PORT) or another PMI: nothing inherited
  const fd = Number(raw);
  const kind = Number.isInteger(fd) && fd >= 0 ? kindOf(fd) : 'closed';
  if (kind === 'socket') return;
  throw usageError(
    `rank ${launch.rank} of ${launch.size}: the launcher's PMI connection (PMI_FD=${raw}, ${launch.source}) ` +
      `${kind === 'closed' ? 'is not open' : 'is not a socket'} in this process, so MPI cannot start: a program between the launcher and ` +
      'ptflow closed it. `npx` does (it starts ptflow as a child process, which inherits only stdin, stdout and stderr). ' +
      'Launch the ptflow executable itself: `mpiexec -n 2 ./node_modules/.bin/ptflow train cfg.yaml` ' +
      '(`srun --mpi=pmi2 ./node_modules/.bin/ptflow ...`; in a clone of ptflow: `./bin/ptflow.js`)',
  );
}
