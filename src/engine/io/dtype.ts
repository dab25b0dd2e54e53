/**
 * safetensors element types: their byte sizes and the conversions of their raw little-endian
 * bytes to the JavaScript arrays ptflow computes with (floats → Float32Array).
 */

/** Every dtype name the safetensors format defines. */
export const KNOWN_DTYPES = [
  'BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64',
] as const;

/** The dtypes ptflow can read. */
export type ReadableDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';
/** The dtypes ptflow writes. */
export type WritableDtype = 'F32' | 'I32' | 'I64';

export const DTYPE_BYTES: Readonly<Record<ReadableDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1,
};

export function isReadableDtype(d: string): d is ReadableDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, d);
}

export function isFloatDtype(d: ReadableDtype): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';
}

/** The array a tensor of each dtype is returned as. */
export type TensorArray = Float32Array | Int32Array | BigInt64Array | Uint8Array;

let f16Table: Float32Array | undefined;

/** IEEE 754 half → float (exact: every half is representable as a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = halfToFloat(i);
  }
  return f16Table;
}

/**
 * Decode `bytes` (exactly `count` elements of `dtype`, little-endian) into a fresh array.
 * `bytes` may start at any byte offset; the result never aliases it unless noted.
 */
export function decodeBytes(dtype: ReadableDtype, bytes: Uint8Array, count: number): TensorArray {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      return out;
    }
    case 'F16': {
      const t = halfTable();
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = t[dv.getUint16(2 * i, true)];
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      return out;
    }
    case 'I64': {
      const out = new BigInt64Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 8));
      return out;
    }
    case 'U8':
    case 'BOOL':
      return bytes.slice(0, count);
  }
}

/** The safetensors dtype a typed array is written as. */
export function dtypeOfArray(a: Float32Array | Int32Array | BigInt64Array): WritableDtype {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Int32Array) return 'I32';
  return 'I64';
}
