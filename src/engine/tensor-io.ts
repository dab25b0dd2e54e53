/**
 * Moving float32 tensor data between the backend and buffers the caller owns, without the extra
 * buffer `dataSync()` returns on wasm (a fresh copy of the heap range each call). Fresh buffers of
 * tens of MB cost more than the copy itself, every new page being a page fault on first write, so
 * a caller that moves gradients every step keeps its own buffers and uses these.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../errors';
import { borrowFloat32 } from './io/tf-tensor-source';

/** Copies float32 tensor `t` into `dst` at `offset`. */
export function readFloat32Into(t: tf.Tensor, dst: Float32Array, offset = 0): void {
  if (t.dtype !== 'float32') throw new PtflowError(`readFloat32Into: tensor ${t.shape.join('x')} is ${t.dtype}, expected float32`);
  if (offset + t.size > dst.length) {
    throw new PtflowError(`readFloat32Into: ${t.size} values at offset ${offset} do not fit a buffer of ${dst.length}`);
  }
  dst.set(borrowFloat32(t), offset);
}

/**
 * A float32 tensor holding a copy of `values` (which the caller may overwrite afterwards). The wasm
 * backend copies into its heap on creation; other backends may keep the array they are given (the
 * cpu backend does), so they get a copy of their own.
 */
export function tensorFromFloat32(values: Float32Array, shape: readonly number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), [...shape], 'float32');
}
