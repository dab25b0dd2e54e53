import { PtflowError } from '../errors';
import { singleProcess } from './collective';
import { closeWorld, failRank, openWorld, requireTransport } from './world';

const MISSING = '/nonexistent/ptflow_mpi.node';

describe('openWorld', () => {
  test('no launcher, or a launch of one rank: the one-process world, MPI not loaded', async () => {
    expect(openWorld({}, { addonPath: MISSING })).toBe(singleProcess);
    expect(openWorld({ PMI_RANK: '0', PMI_SIZE: '1' }, { addonPath: MISSING })).toBe(singleProcess);
    await expect(closeWorld(singleProcess)).resolves.toBeUndefined();
  });

  test('a launch of N > 1 ranks without the MPI addon says what to install, exit code 2', () => {
    let err: unknown;
    try {
      openWorld({ PMI_RANK: '1', PMI_SIZE: '2' }, { addonPath: MISSING });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as PtflowError).exitCode).toBe(2);
    const msg = (err as Error).message;
    expect(msg).toContain('rank 1 of 2: this job was launched as 2 ranks (PMI_RANK/PMI_SIZE)');
    expect(msg).toContain(`${MISSING} is missing`);
    expect(msg).toContain('`apt-get install mpich libmpich-dev`');
    expect(msg).toContain('`npm rebuild ptflow` (or `node native/build.js`');
  });

  test('requireTransport: the same error before any work, and nothing to require for one process', () => {
    expect(requireTransport({}, { addonPath: MISSING })).toMatchObject({ launcher: 'none', rank: 0, size: 1 });
    expect(() => requireTransport({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '4' }, { addonPath: MISSING })).toThrow(
      /rank 0 of 4: this job was launched as 4 ranks \(OMPI_COMM_WORLD_RANK\/OMPI_COMM_WORLD_SIZE\).*`apt-get install mpich libmpich-dev`/,
    );
  });

  test('failRank in one process says why and exits with the code', () => {
    const exits: number[] = [];
    const world = { ...singleProcess, abort: (code: number): never => { exits.push(code); throw new Error('exited'); } };
    const writes: string[] = [];
    const spy = jest.spyOn(require('node:fs'), 'writeSync').mockImplementation((...args: unknown[]) => {
      writes.push(String(args[1]));
      return Buffer.byteLength(String(args[1]));
    });
    try {
      expect(() => failRank(world, new Error('bad shard'), 3)).toThrow('exited');
    } finally {
      spy.mockRestore();
    }
    expect(exits).toEqual([3]);
    expect(writes).toEqual(['ptflow: failed: bad shard\n']);
  });
});
