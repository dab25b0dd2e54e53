/**
 * Reading tfjs tensors for saving without a second copy of them.
 *
 * `dataSync()` on the wasm backend copies the tensor out of the heap into a fresh array, and a
 * save that gathered every weight and AdamW moment that way held all of them twice (hundreds of
 * MB for a 100M-parameter model, on fresh pages the machine is slow to hand out). Here the values
 * are read where the backend keeps them:
 * - wasm: a view of the heap (re-taken at every read, since the heap may have grown meanwhile);
 * - cpu: the backend's own array, read from its data store rather than through `dataSync`, which
 *   would mark the array as escaped and keep the cpu buffer pool from reusing it;
 * - other backends (tensorflow, webgpu): `dataSync`, one tensor's copy at a time.
 * A borrowed view is valid only until the next tfjs operation or await; the tensors must not be
 * changed or disposed while a file made from their sources is being written.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { asWasmBackend, heapView } from '../wasm/internals';
import type { TensorSource } from './safetensors';

type SavedArray = Float32Array | Int32Array;

function expectArray(t: tf.Tensor, a: unknown, how: string): SavedArray {
  const ok = t.dtype === 'float32' ? a instanceof Float32Array : a instanceof Int32Array;
  if (!ok || (a as SavedArray).length !== t.size) {
    throw new PtflowError(`tensor [${t.shape.join(', ')}] ${t.dtype}: ${how} did not give ${t.size} ${t.dtype} values`);
  }
  return a as SavedArray;
}

/** The backend's own values of `t`, or null where the backend does not keep them in JS reach. */
function ownValues(t: tf.Tensor): SavedArray | null {
  if (t.isDisposed) throw new PtflowError(`tensor [${t.shape.join(', ')}] is disposed`);
  const name = tf.getBackend();
  if (name === 'wasm') return expectArray(t, heapView(asWasmBackend(tf.backend()), t), 'the wasm heap');
  if (name === 'cpu') {
    const store = (tf.backend() as unknown as { data?: { get(id: object): { values?: unknown } | undefined } }).data;
    const values = store?.get(t.dataId)?.values;
    if (values instanceof Float32Array || values instanceof Int32Array) return expectArray(t, values, 'the cpu data store');
  }
  return null;
}

/**
 * `t`'s float32 values without a copy on wasm and cpu (a copy elsewhere). Use it at once: the view
 * is not valid after the next tfjs operation or await.
 */
export function borrowFloat32(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new PtflowError(`tensor [${t.shape.join(', ')}] is ${t.dtype}, float32 expected`);
  return (ownValues(t) ?? expectArray(t, t.dataSync(), 'dataSync')) as Float32Array;
}

/** A safetensors source reading `t` (float32 → F32, int32 → I32) where the backend keeps it. */
export function tfTensorSource(t: tf.Tensor): TensorSource {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new PtflowError(`tensor [${t.shape.join(', ')}]: cannot save dtype ${t.dtype}`);
  return {
    shape: t.shape.slice(),
    dtype: t.dtype === 'float32' ? 'F32' : 'I32',
    length: t.size,
    open() {
      // Backends without a view of their own: one copy of this tensor while it is written.
      const copy = ownValues(t) === null ? expectArray(t, t.dataSync(), 'dataSync') : null;
      return (begin, dst) => {
        const a = copy ?? (ownValues(t) as SavedArray);
        dst.set(new Uint8Array(a.buffer, a.byteOffset + begin, dst.byteLength));
      };
    },
  };
}
