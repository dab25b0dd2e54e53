import { partRange, resolvePartition } from './partition';

describe('resolvePartition', () => {
  it('is rank 0 of 1 when nothing is set', () => {
    expect(resolvePartition({}, {})).toMatchObject({ rank: 0, worldSize: 1, source: 'default' });
  });

  it('takes --rank / --world-size (strings from the command line)', () => {
    expect(resolvePartition({ rank: '2', worldSize: '3' }, {})).toMatchObject({ rank: 2, worldSize: 3 });
    // flags win over the scheduler's environment
    expect(resolvePartition({ rank: 1, worldSize: 4 }, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({ rank: 1, worldSize: 4 });
  });

  it('reads Slurm array jobs: COUNT, or MIN/MAX, with a step', () => {
    expect(resolvePartition({}, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ rank: 4, worldSize: 8 });
    // --array=5-9: ids 5…9 → ranks 0…4 of 5
    expect(resolvePartition({}, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '9' })).toMatchObject({ rank: 2, worldSize: 5 });
    // --array=0-8:2: ids 0,2,4,6,8 → id 6 is rank 3 of 5
    expect(
      resolvePartition({}, { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_STEP: '2' }),
    ).toMatchObject({ rank: 3, worldSize: 5 });
    expect(resolvePartition({}, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' }).source).toMatch(/Slurm/);
  });

  it('reads Kubernetes indexed Jobs, with the world size from --world-size or PTFLOW_WORLD_SIZE', () => {
    expect(resolvePartition({ worldSize: '6' }, { JOB_COMPLETION_INDEX: '5' })).toMatchObject({ rank: 5, worldSize: 6 });
    expect(resolvePartition({}, { JOB_COMPLETION_INDEX: '0', PTFLOW_WORLD_SIZE: '2' })).toMatchObject({ rank: 0, worldSize: 2 });
    expect(() => resolvePartition({}, { JOB_COMPLETION_INDEX: '1' })).toThrow(/JOB_COMPLETION_INDEX.*--world-size or set PTFLOW_WORLD_SIZE/);
  });

  it('reads PTFLOW_RANK / PTFLOW_WORLD_SIZE', () => {
    expect(resolvePartition({}, { PTFLOW_RANK: '1', PTFLOW_WORLD_SIZE: '3' })).toMatchObject({ rank: 1, worldSize: 3 });
  });

  it('rejects bad and inconsistent values, naming them', () => {
    expect(() => resolvePartition({ rank: '3', worldSize: '3' }, {})).toThrow(/rank 3 is out of range for world size 3/);
    expect(() => resolvePartition({ rank: 'x', worldSize: '3' }, {})).toThrow(/--rank: expected an integer/);
    expect(() => resolvePartition({ rank: '0', worldSize: '0' }, {})).toThrow(/--world-size: expected an integer ≥ 1/);
    expect(() => resolvePartition({ rank: '1' }, {})).toThrow(/--rank needs --world-size/);
    expect(() => resolvePartition({ worldSize: '4' }, {})).toThrow(/without a rank/);
    expect(() => resolvePartition({ worldSize: '4' }, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(/disagrees/);
    expect(() => resolvePartition({}, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_STEP: '2' })).toThrow(
      /not on the array's grid/,
    );
    expect(() => resolvePartition({}, { SLURM_ARRAY_TASK_ID: '-1', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow(/SLURM_ARRAY_TASK_ID/);
    try {
      resolvePartition({ rank: '5', worldSize: '2' }, {});
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

describe('partRange', () => {
  it('splits n documents into contiguous ranges that cover 0…n in rank order', () => {
    for (const [n, w] of [
      [10, 3],
      [2, 5],
      [0, 4],
      [1000, 7],
    ]) {
      let next = 0;
      const sizes: number[] = [];
      for (let r = 0; r < w; r++) {
        const { start, end } = partRange(n, r, w);
        expect(start).toBe(next);
        expect(end).toBeGreaterThanOrEqual(start);
        sizes.push(end - start);
        next = end;
      }
      expect(next).toBe(n);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect([0, 1, 2].map((r) => partRange(10, r, 3))).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 6 },
      { start: 6, end: 10 },
    ]);
  });
});
