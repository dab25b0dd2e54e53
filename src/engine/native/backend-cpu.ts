/**
 * Access to tensors of tfjs-backend-cpu for native kernels: inputs are the backend's own
 * Float32Array / Int32Array values (no copy); the output array is taken from the cpu buffer pool
 * (kernels/cpu-buffer-pool.ts: native kernels write every output value, as they must on wasm,
 * whose outputs are not zeroed either) and adopted by the backend (`makeTensorInfo` keeps the
 * array it is given).
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { allocFloat32 } from '../kernels/cpu-buffer-pool';
import type { BackendAdapter } from './kernels';

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo;
}

function asCpu(backend: unknown): CpuBackendLike {
  const b = backend as Partial<CpuBackendLike> | null;
  if (b == null || b.data == null || typeof b.makeTensorInfo !== 'function') {
    throw new PtflowError('native kernels: backend is not tfjs-backend-cpu 4.x (data, makeTensorInfo missing)');
  }
  return b as CpuBackendLike;
}

/** The backend's own values: float32 tensors as Float32Array, int32 ones as Int32Array. */
function valuesOf(b: CpuBackendLike, t: TensorInfo): Float32Array | Int32Array {
  const v = b.data.get(t.dataId)?.values;
  if (v instanceof Float32Array || v instanceof Int32Array) return v;
  if (ArrayBuffer.isView(v) || Array.isArray(v)) {
    return t.dtype === 'int32' ? Int32Array.from(v as ArrayLike<number>) : Float32Array.from(v as ArrayLike<number>);
  }
  throw new PtflowError(`native kernels: cpu tensor [${t.shape.join(',')}] has no values (disposed?)`);
}

export const cpuAdapter: BackendAdapter = {
  withOutput(backend, shape, inputs, compute) {
    const b = asCpu(backend);
    const out = allocFloat32(shape.reduce((p, d) => p * d, 1));
    compute(
      inputs.map((t) => ({ array: valuesOf(b, t), byteOffset: 0 })),
      { array: out, byteOffset: 0 },
    );
    return b.makeTensorInfo(shape, 'float32', out);
  },
  withOutputs(backend, shapes, inputs, compute) {
    const b = asCpu(backend);
    const outs = shapes.map((shape) => allocFloat32(shape.reduce((p, d) => p * d, 1)));
    compute(
      inputs.map((t) => ({ array: valuesOf(b, t), byteOffset: 0 })),
      outs.map((o) => ({ array: o, byteOffset: 0 })),
    );
    return outs.map((o, i) => b.makeTensorInfo(shapes[i], 'float32', o));
  },
  withInputs(backend, inputs, read) {
    const b = asCpu(backend);
    return read(inputs.map((t) => ({ array: valuesOf(b, t), byteOffset: 0 })));
  },
};
