/**
 * The launcher's PMI socket is checked before MPI starts: an inherited descriptor that is closed or
 * not a socket (what `npx` leaves) stops the rank with the way to launch that works.
 */
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PtflowError } from '../errors';
import { checkPmiConnection, fdKind } from './pmi-connection';
import type { Launch } from './launch';

const launch: Launch = { launcher: 'hydra', rank: 1, size: 2, source: 'PMI_RANK/PMI_SIZE' };

it('tells a socket from a file and from a closed descriptor', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socketFd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const fileFd = openSync(path.join(tmpdir(), `ptflow-pmi-${process.pid}`), 'w');
  const closedFd = openSync(path.join(tmpdir(), `ptflow-pmi-${process.pid}-2`), 'w');
  closeSync(closedFd);
  try {
    expect([fdKind(socketFd), fdKind(fileFd), fdKind(closedFd)]).toEqual(['socket', 'other', 'closed']);
    expect(() => checkPmiConnection(launch, { PMI_FD: String(socketFd) })).not.toThrow();
    const err = (fd: string): PtflowError => {
      try {
        checkPmiConnection(launch, { PMI_FD: fd });
      } catch (e) {
        return e as PtflowError;
      }
      throw new Error('expected an error');
    };
    for (const [fd, what] of [[String(closedFd), 'is not open'], [String(fileFd), 'is not a socket'], ['x', 'is not open']]) {
      const e = err(fd);
      expect(e).toBeInstanceOf(PtflowError);
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(`rank 1 of 2: the launcher's PMI connection (PMI_FD=${fd}, PMI_RANK/PMI_SIZE) ${what} in this process`);
      expect(e.message).toMatch(/`npx` does .*`mpiexec -n 2 \.\/node_modules\/\.bin\/ptflow train cfg\.yaml`/);
    }
  } finally {
    closeSync(fileFd);
    server.close();
  }
});

it('has nothing to check without PMI_FD (PMI over a port, other launchers)', () => {
  expect(() => checkPmiConnection(launch, {}, () => 'closed')).not.toThrow();
  expect(() => checkPmiConnection(launch, { PMI_PORT: 'host:1234' }, () => 'closed')).not.toThrow();
});
