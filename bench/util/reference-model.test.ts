import { parameterShapes } from '../../src/engine/model/names';
import { flopsPerToken, randomBatch, referenceConfig } from './reference-model';

describe('reference model', () => {
  test('FLOPs per token: 6 × non-embedding params (lm_head included) + 12·L·T·d = 33.4 M', () => {
    const cfg = referenceConfig();
    // By hand: per layer q,k,v,o 4·256² + MLP 3·256·704 + 2 norms·256 = 803 328;
    // × 4 layers + final norm 256 + lm_head 8192·256 = 5 310 720 parameters.
    const params = 4 * (4 * 256 * 256 + 3 * 256 * 704 + 2 * 256) + 256 + 8192 * 256;
    expect(params).toBe(5_310_720);
    expect(flopsPerToken(parameterShapes(cfg), cfg, 128)).toBe(6 * params + 12 * 4 * 128 * 256);
    expect(flopsPerToken(parameterShapes(cfg), cfg, 128)).toBe(33_437_184);
    // All parameters (with the 8192·256 embedding): the 7.4 M of the reference.
    const all = [...parameterShapes(cfg).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(all).toBe(params + 8192 * 256);
  });

  test('random batch: seeded, in vocabulary, labels = inputs, all positions real', () => {
    const a = randomBatch(8192, 8, 128, 7);
    const b = randomBatch(8192, 8, 128, 7);
    expect(a.inputIds).toEqual(b.inputIds);
    expect(a.inputIds.length).toBe(1024);
    expect(Math.max(...a.inputIds)).toBeLessThan(8192);
    expect(Math.min(...a.inputIds)).toBeGreaterThanOrEqual(0);
    expect(new Set(a.inputIds).size).toBeGreaterThan(900);
    expect(a.labels).toEqual(a.inputIds);
    expect(a.attentionMask!.every((m) => m === 1)).toBe(true);
  });
});
