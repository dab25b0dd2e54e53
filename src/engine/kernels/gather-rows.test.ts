// GatherV2's row-copy kernel (axis 0) on wasm and cpu against rows picked by hand here, and the
// cases it leaves to the stock kernel (other axes, int32 tables) against the same reference.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initWasm, shutdownWasm } from '../wasm/init';
import { gatherRowsCpuConfig, gatherRowsWasmConfig } from './gather-rows';
import { registerPtflowKernels } from './register';

/** out[i, ...] = x[ids[i], ...] along `axis`, by index arithmetic. */
function gatherRef(x: number[], shape: number[], ids: number[], axis: number): number[] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const id of ids)
      for (let c = 0; c < inner; c++) out.push(x[(o * shape[axis] + id) * inner + c]);
  return out;
}

const SHAPE = [11, 3, 5];
const X = Array.from({ length: 11 * 3 * 5 }, (_, i) => Math.fround(Math.sin(i) * 10));

describe.each(['wasm', 'cpu'] as const)('GatherV2 rows on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') await initWasm({ threads: 1 });
    else await tf.setBackend('cpu');
    registerPtflowKernels(backend);
  });
  afterAll(() => {
    if (backend === 'wasm') shutdownWasm();
  });

  test('is the registered kernel', () => {
    const config = backend === 'wasm' ? gatherRowsWasmConfig : gatherRowsCpuConfig;
    expect(tf.getKernel('GatherV2', backend)?.kernelFunc).toBe(config.kernelFunc);
  });

  test('axis 0: repeated, unordered and 2-D ids', () => {
    const ids = [[4, 0, 10], [4, 4, 7]];
    const got = tf.tidy(() => {
      const g = tf.gather(tf.tensor3d(X, SHAPE as [number, number, number]), tf.tensor2d(ids, [2, 3], 'int32'));
      expect(g.shape).toEqual([2, 3, 3, 5]);
      return Array.from(g.dataSync());
    });
    expect(got).toEqual(gatherRef(X, SHAPE, ids.flat(), 0));
  });

  test('other axes and int32 tables: the stock kernel, same values', () => {
    const ids = [2, 0, 2];
    const got = tf.tidy(() => Array.from(tf.gather(tf.tensor3d(X, SHAPE as [number, number, number]), tf.tensor1d(ids, 'int32'), 1).dataSync()));
    expect(got).toEqual(gatherRef(X, SHAPE, ids, 1));
    const ints = X.map((v) => Math.round(v) | 0);
    const gotInt = tf.tidy(() => Array.from(tf.gather(tf.tensor3d(ints, SHAPE as [number, number, number], 'int32'), tf.tensor1d([3, 1], 'int32')).dataSync()));
    expect(gotInt).toEqual(gatherRef(ints, SHAPE, [3, 1], 0));
  });

  test('an index outside the table is an error naming it', () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const ids = tf.tensor1d([1, 2], 'int32');
    expect(() => tf.gather(x, ids)).toThrow(/index 2 is not in \[0, 1\]/);
    tf.dispose([x, ids]);
  });
});
