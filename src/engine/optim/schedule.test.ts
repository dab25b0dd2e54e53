import { PtflowError } from '../../errors';
import { LrScheduleSpec, makeLrSchedule, resolveWarmupSteps } from './schedule';

/** λ values at the given steps (baseLr = 1 unless set). */
function lambdas(spec: Partial<LrScheduleSpec> & Pick<LrScheduleSpec, 'type'>, steps: number[]): number[] {
  const s = makeLrSchedule({ baseLr: 1, warmupSteps: 2, totalSteps: 10, ...spec });
  return steps.map((k) => s.lrAt(k));
}

function expectAll(actual: number[], expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i], 10));
}

// All expected numbers below are worked out by hand from the formulas (warmup 2, total 10).
describe('makeLrSchedule', () => {
  test('linear: warmup 0 → 1, then linear to 0 at the last step', () => {
    expectAll(lambdas({ type: 'linear' }, [0, 1, 2, 6, 9, 10, 11]), [0, 0.5, 1, 0.5, 0.125, 0, 0]);
  });

  test('linear scales the base rate (lr applied in step s+1)', () => {
    const s = makeLrSchedule({ type: 'linear', baseLr: 5e-5, warmupSteps: 0, totalSteps: 4 });
    expectAll([0, 1, 2, 3].map((k) => s.lrAt(k) * 1e5), [5, 3.75, 2.5, 1.25]);
  });

  test('cosine (half cycle)', () => {
    // λ(4): progress ¼ → ½(1+cos π/4) = 0.853553390593; λ(9): ⅞ → ½(1+cos 7π/8) = 0.038060233744.
    expectAll(lambdas({ type: 'cosine' }, [0, 1, 2, 4, 6, 9, 10]), [0, 0.5, 1, 0.8535533905932737, 0.5, 0.038060233744356624, 0]);
  });

  test('constant and constant_with_warmup', () => {
    expectAll(lambdas({ type: 'constant' }, [0, 5, 100]), [1, 1, 1]);
    expectAll(lambdas({ type: 'constant_with_warmup', warmupSteps: 4 }, [0, 1, 3, 4, 100]), [0, 0.25, 0.75, 1, 1]);
  });

  test('cosine_with_restarts, 2 cycles: hard restart half way', () => {
    // λ(4): (2·¼) mod 1 = ½ → ½; λ(6): 1 mod 1 = 0 → 1; λ(9): 1.75 mod 1 = ¾ → ½(1+cos 3π/4) = 0.146446609407.
    expectAll(
      lambdas({ type: 'cosine_with_restarts', kwargs: { num_cycles: 2 } }, [1, 2, 4, 6, 8, 9, 10]),
      [0.5, 1, 0.5, 1, 0.5, 0.14644660940672627, 0],
    );
    expectAll(lambdas({ type: 'cosine_with_restarts' }, [6]), [0.5]); // default 1 cycle
  });

  test('polynomial: (lr − lr_end)·remaining^power + lr_end, then lr_end', () => {
    const s = makeLrSchedule({ type: 'polynomial', baseLr: 1e-3, warmupSteps: 2, totalSteps: 10, kwargs: { lr_end: 1e-4, power: 2 } });
    // s = 6: remaining ½ → 9e-4·¼ + 1e-4 = 3.25e-4.
    expectAll([1, 2, 6, 10, 12].map((k) => s.lrAt(k) * 1e4), [5, 10, 3.25, 1, 1]);
    const d = makeLrSchedule({ type: 'polynomial', baseLr: 1e-3, warmupSteps: 2, totalSteps: 10 });
    expect(d.lrAt(6)).toBeCloseTo(5.0005e-4, 15); // defaults lr_end 1e-7, power 1
  });

  test('inverse_sqrt: timescale = warmup (or 10000 without warmup)', () => {
    expectAll(lambdas({ type: 'inverse_sqrt', warmupSteps: 4 }, [2, 4, 16, 36]), [0.5, 1, 0.5, 1 / 3]);
    expectAll(lambdas({ type: 'inverse_sqrt', warmupSteps: 0 }, [0, 30000]), [1, 0.5]);
  });

  test('cosine_with_min_lr floors the cosine at min_lr_rate', () => {
    expectAll(lambdas({ type: 'cosine_with_min_lr', kwargs: { min_lr_rate: 0.1 } }, [1, 2, 6, 10]), [0.5, 1, 0.55, 0.1]);
    const s = makeLrSchedule({ type: 'cosine_with_min_lr', baseLr: 1e-3, warmupSteps: 2, totalSteps: 10, kwargs: { min_lr: 1e-4 } });
    expect(s.lrAt(10)).toBeCloseTo(1e-4, 15);
  });

  test('warmup_stable_decay with LLaMA-Factory defaults: stable = (N − W) // 3, decay = rest', () => {
    // N 14, W 2 → remaining 12 → stable 4 (steps 2..5), decay 8 (steps 6..13, cosine), then min ratio 0.
    expectAll(
      lambdas({ type: 'warmup_stable_decay', totalSteps: 14 }, [0, 1, 2, 5, 6, 10, 13, 14]),
      [0, 0.5, 1, 1, 1, 0.5, 0.038060233744356624, 0],
    );
    // N 15, W 2 → remaining 13 → stable 13 // 3 = 4, decay 9: λ(6 + 4.5) would be ½; λ(15) = 0.
    expectAll(lambdas({ type: 'warmup_stable_decay', totalSteps: 15 }, [5, 6, 14, 15]), [1, 1, 0.5 * (1 + Math.cos((Math.PI * 8) / 9)), 0]);
  });

  test('warmup_stable_decay: a given num_decay_steps keeps the default stable length', () => {
    // stable still 12 // 3 = 4; decay 3 (steps 6..8); λ(7): ⅓ → ½(1+cos π/3) = 0.75; after: 0.
    expectAll(lambdas({ type: 'warmup_stable_decay', totalSteps: 14, kwargs: { num_decay_steps: 3 } }, [5, 6, 7, 9]), [1, 1, 0.75, 0]);
  });

  test('warmup_stable_decay with cosine warmup, 1-sqrt decay and min_lr_ratio', () => {
    const kwargs = { num_stable_steps: 2, num_decay_steps: 4, warmup_type: 'cosine', decay_type: '1-sqrt', min_lr_ratio: 0.1 };
    // λ(0) = .1; λ(2): ½(1−cos π/2)=½ → .55; λ(7): 1−√¼ = ½ → .55; λ(9): 1−√¾ = .1339746 → .22057714; λ(10) = .1.
    expectAll(
      lambdas({ type: 'warmup_stable_decay', warmupSteps: 4, totalSteps: 10, kwargs }, [0, 2, 4, 5, 6, 7, 9, 10]),
      [0.1, 0.55, 1, 1, 1, 0.55, 0.1 + 0.9 * (1 - Math.sqrt(0.75)), 0.1],
    );
    const sq = lambdas({ type: 'warmup_stable_decay', warmupSteps: 4, kwargs: { num_stable_steps: 1, num_decay_steps: 1, warmup_type: '1-sqrt' } }, [1]);
    expectAll(sq, [1 - Math.sqrt(0.75)]);
  });

  test('bad kwargs and types are usage errors naming the key', () => {
    const err = (f: () => unknown): PtflowError => {
      try {
        f();
      } catch (e) {
        return e as PtflowError;
      }
      throw new Error('no error');
    };
    const e1 = err(() => makeLrSchedule({ type: 'linear', baseLr: 1, warmupSteps: 0, totalSteps: 5, kwargs: { num_cycles: 2 } }));
    expect(e1).toBeInstanceOf(PtflowError);
    expect(e1.exitCode).toBe(2);
    expect(e1.message).toMatch(/lr_scheduler_kwargs\.num_cycles: not accepted by the linear schedule/);
    expect(err(() => makeLrSchedule({ type: 'warmup_stable_decay', baseLr: 1, warmupSteps: 0, totalSteps: 5, kwargs: { decay_type: 'exp' } })).message).toMatch(/lr_scheduler_kwargs\.decay_type/);
    // HF passes num_training_steps itself; giving it again is an error there too.
    expect(err(() => makeLrSchedule({ type: 'warmup_stable_decay', baseLr: 1, warmupSteps: 0, totalSteps: 5, kwargs: { num_training_steps: 5 } })).message).toMatch(/lr_scheduler_kwargs\.num_training_steps: not accepted/);
    expect(err(() => makeLrSchedule({ type: 'polynomial', baseLr: 1e-7, warmupSteps: 0, totalSteps: 5 })).message).toMatch(/lr_end/);
    expect(err(() => makeLrSchedule({ type: 'nope' as 'linear', baseLr: 1, warmupSteps: 0, totalSteps: 5 })).message).toMatch(/lr_scheduler_type: unknown schedule "nope"/);
  });
});

describe('resolveWarmupSteps', () => {
  test('steps win over ratio; ratio is ceil(ratio × total) with float rounding as in Python', () => {
    expect(resolveWarmupSteps(5, 0.1, 100)).toBe(5);
    expect(resolveWarmupSteps(0, 0.1, 95)).toBe(10);
    expect(resolveWarmupSteps(0, 0.07, 100)).toBe(8); // 100 × 0.07 = 7.000000000000001 → ceil 8 (Python math.ceil agrees)
    expect(resolveWarmupSteps(0, 0, 30)).toBe(0);
  });
});
