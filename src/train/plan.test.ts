import { makePlan, shouldSave } from './plan';

const base = { batchSize: 8, gradAccum: 1, numTrainEpochs: 3, maxSteps: -1, loggingSteps: 10, evalSteps: null, saveSteps: 500, evalStrategy: 'no' as const, saveStrategy: 'steps' as const };

describe('run plan', () => {
  it('counts steps per epoch with a partial last batch and accumulation remainder', () => {
    // 100 blocks / 8 = 12.5 → 13 micro-batches; GA 4 → ceil(13/4) = 4 steps per epoch; 3 epochs → 12.
    const p = makePlan({ ...base, blocks: 100, gradAccum: 4 });
    expect(p.microPerEpoch).toBe(13);
    expect(p.stepsPerEpoch).toBe(4);
    expect(p.totalSteps).toBe(12);
    expect(p.epochsNeeded).toBe(3);
  });
  it('honours max_steps and fractional epochs', () => {
    expect(makePlan({ ...base, blocks: 80, maxSteps: 25 }).totalSteps).toBe(25);
    expect(makePlan({ ...base, blocks: 80, maxSteps: 25 }).epochsNeeded).toBe(3); // 10 steps per epoch
    expect(makePlan({ ...base, blocks: 80, numTrainEpochs: 1.5 }).totalSteps).toBe(15);
  });
  it('turns ratios below 1 into step counts of the total', () => {
    const p = makePlan({ ...base, blocks: 80, maxSteps: 30, loggingSteps: 0.1, saveSteps: 0.5, evalSteps: 0.25 });
    expect([p.loggingSteps, p.saveSteps, p.evalSteps]).toEqual([3, 15, 8]);
  });
  it('requires max_steps when the size is unknown', () => {
    expect(() => makePlan({ ...base, blocks: null })).toThrow(/max_steps/);
    expect(makePlan({ ...base, blocks: null, maxSteps: 7 }).epochsNeeded).toBeNull();
  });
  it('saves at the last step', () => {
    const p = makePlan({ ...base, blocks: 80, maxSteps: 25, saveSteps: 10 });
    expect([10, 20, 25, 24].map((s) => shouldSave(s, p, 'steps', false))).toEqual([true, true, true, false]);
  });
});
