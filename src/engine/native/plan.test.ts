import { PtflowError } from '../../errors';
import { broadcastShapes, planMatMul } from './plan';

describe('planMatMul', () => {
  test('2-D shapes, all transpose combinations', () => {
    // A stored [3,5] (or [5,3] transposed), B stored [5,7] (or [7,5]).
    const p00 = planMatMul([3, 5], [5, 7], false, false);
    expect([p00.M, p00.N, p00.K, p00.lda, p00.ldb, p00.ldc]).toEqual([3, 7, 5, 5, 7, 7]);
    const p11 = planMatMul([5, 3], [7, 5], true, true);
    expect([p11.M, p11.N, p11.K, p11.lda, p11.ldb]).toEqual([3, 7, 5, 3, 5]);
    expect(p11.outShape).toEqual([3, 7]);
    expect(p11.batch).toBe(1);
  });

  test('batch strides: same outer dims, and one side without batch', () => {
    const p = planMatMul([2, 3, 4, 5], [2, 3, 5, 6], false, false);
    expect([p.batch, p.strideA, p.strideB, p.strideC]).toEqual([6, 20, 30, 24]);
    expect(p.batchOffsets).toBeUndefined();
    const q = planMatMul([4, 3, 5], [5, 6], false, false);
    expect([q.batch, q.strideA, q.strideB]).toEqual([4, 15, 0]);
    expect(q.outShape).toEqual([4, 3, 6]);
    const r = planMatMul([1, 3, 5], [2, 5, 6], false, false);
    expect([r.batch, r.strideA, r.strideB]).toEqual([2, 0, 30]);
  });

  test('general broadcast becomes an offset table', () => {
    // a outer [2,1], b outer [1,3] -> out [2,3]; a item (i,j) -> i, b item -> j.
    const p = planMatMul([2, 1, 4, 5], [1, 3, 5, 6], false, false);
    expect(p.outShape).toEqual([2, 3, 4, 6]);
    expect(Array.from(p.batchOffsets ?? [])).toEqual([0, 0, 0, 30, 0, 60, 20, 0, 20, 30, 20, 60]);
    // a outer [2,3] vs b outer [3]: b's item is t % 3.
    const q = planMatMul([2, 3, 1, 2], [3, 2, 1], false, false);
    expect(Array.from(q.batchOffsets ?? [])).toEqual([0, 0, 2, 2, 4, 4, 6, 0, 8, 2, 10, 4]);
  });

  test('errors name the shapes', () => {
    expect(() => planMatMul([3, 5], [4, 7], false, false)).toThrow(PtflowError);
    expect(() => planMatMul([3, 5], [4, 7], false, false)).toThrow(/\[3,5\] and \[4,7\]/);
    expect(() => planMatMul([5], [5, 7], false, false)).toThrow(/rank >= 2/);
    expect(() => broadcastShapes([2], [3], 'x')).toThrow(/\[2\] and \[3\] do not broadcast/);
  });
});
