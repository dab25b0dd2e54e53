import { mkdtempSync, promises as fsp, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PtflowError } from '../../errors';
import { halfToFloat } from './dtype';
import {
  readSafetensors, readSafetensorsF32, readSafetensorsHeader, readTensor, writeSafetensors, type TensorSource, type WritableTensor,
} from './safetensors';
import { SAFE_WEIGHTS_INDEX_NAME, readShardedSafetensorsF32, writeShardedSafetensors } from './sharded';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Build a safetensors file by hand: header object (or raw text) + raw data bytes. */
function handMade(name: string, header: unknown, data: Uint8Array, opts: { lenOverride?: bigint; rawHeader?: string } = {}): string {
  const json = Buffer.from(opts.rawHeader ?? JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.lenOverride ?? BigInt(json.length));
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([len, json, Buffer.from(data)]));
  return file;
}

function u16le(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
  return b;
}

describe('safetensors write → read', () => {
  test('round trip keeps values, shapes, dtypes and metadata; header is space-padded to 8 bytes', async () => {
    const file = path.join(dir, 'rt.safetensors');
    const tensors = new Map([
      ['model.b', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 7]) }],
      ['model.a', { shape: [3], data: Int32Array.from([-1, 0, 2147483647]) }],
      ['steps', { shape: [], data: BigInt64Array.from([9007199254740993n]) }],
    ]);
    await writeSafetensors(file, tensors, { format: 'pt' });
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    expect(text).toMatch(/ *$/);
    const header = JSON.parse(text);
    // Names sorted, offsets consecutive in that order.
    expect(Object.keys(header)).toEqual(['__metadata__', 'model.a', 'model.b', 'steps']);
    expect(header['model.a']).toEqual({ dtype: 'I32', shape: [3], data_offsets: [0, 12] });
    expect(header['model.b']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [12, 36] });
    expect(header.steps).toEqual({ dtype: 'I64', shape: [], data_offsets: [36, 44] });
    expect(bytes.length).toBe(8 + n + 44);

    const back = await readSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(back.tensors.get('model.b')).toEqual({ dtype: 'F32', shape: [2, 3], data: tensors.get('model.b')!.data });
    expect(Array.from(back.tensors.get('model.a')!.data as Int32Array)).toEqual([-1, 0, 2147483647]);
    expect((back.tensors.get('steps')!.data as BigInt64Array)[0]).toBe(9007199254740993n);
    expect(Object.is((back.tensors.get('model.b')!.data as Float32Array)[4], -0)).toBe(true);
  });

  test('a file with no tensors and no metadata is {} padded to 8 bytes', async () => {
    const file = path.join(dir, 'empty.safetensors');
    await writeSafetensors(file, new Map());
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(16);
    expect(bytes.readBigUInt64LE(0)).toBe(8n);
    expect(bytes.subarray(8).toString()).toBe('{}      ');
    expect((await readSafetensors(file)).tensors.size).toBe(0);
  });

  test('streamed: header first, then one tensor by name; filter reads a subset', async () => {
    const file = path.join(dir, 'stream.safetensors');
    await writeSafetensors(file, new Map([['x', { shape: [2], data: Float32Array.from([1, 2]) }], ['y', { shape: [1], data: Float32Array.from([3]) }]]));
    const h = await readSafetensorsHeader(file);
    expect(h.entries.map((e) => e.name)).toEqual(['x', 'y']);
    const fh = await fsp.open(file, 'r');
    const y = await readTensor(fh, h, 'y');
    await fh.close();
    expect(Array.from(y.data as Float32Array)).toEqual([3]);
    const only = await readSafetensors(file, { filter: (n) => n === 'x' });
    expect([...only.tensors.keys()]).toEqual(['x']);
  });

  test('the writer refuses data that does not match the shape, naming the tensor', async () => {
    await expect(writeSafetensors(path.join(dir, 'bad.safetensors'), new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]]))).rejects.toThrow(/bad\.safetensors: tensor w has 3 values but shape \[2, 2\] needs 4/);
  });
});

/** A source over an array that copies its bytes out on demand, counting the reads. */
function arraySource(t: WritableTensor, reads: number[] = []): TensorSource {
  const dtype = t.data instanceof Float32Array ? 'F32' : t.data instanceof Int32Array ? 'I32' : 'I64';
  return {
    shape: t.shape, dtype, length: t.data.length,
    open: () => (begin, dst) => {
      reads.push(dst.byteLength);
      dst.set(new Uint8Array(t.data.buffer, t.data.byteOffset + begin, dst.byteLength));
    },
  };
}

describe('streamed sources', () => {
  // F32 with -0, a denormal and NaN bits; I32 extremes; I64 beyond 2^53; a scalar; an empty tensor.
  const f = new Float32Array(1001).map((_, i) => Math.sin(i) * 10 ** ((i % 40) - 20));
  f[3] = -0;
  f[4] = 1e-45;
  new Uint32Array(f.buffer)[5] = 0x7fc00123; // a NaN payload must survive byte for byte
  const tensors = new Map<string, WritableTensor>([
    ['b.f32', { shape: [7, 11, 13], data: f }],
    ['a.i32', { shape: [5], data: Int32Array.from([-2147483648, -1, 0, 1, 2147483647]) }],
    ['c.i64', { shape: [3], data: BigInt64Array.from([-(2n ** 63n), 9007199254740993n, 2n ** 63n - 1n]) }],
    ['d.scalar', { shape: [], data: Float32Array.from([0.5]) }],
    ['e.empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);

  test.each([3, 8, 4096, undefined])('are written byte for byte as the arrays are (chunk %p bytes)', async (chunkBytes) => {
    const whole = path.join(dir, 'whole.safetensors');
    await writeSafetensors(whole, tensors, { format: 'pt' });
    // The bytes the format prescribes, built independently: length, padded JSON, sorted data.
    const names = [...tensors.keys()].sort();
    let off = 0;
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    for (const n of names) {
      const t = tensors.get(n)!;
      header[n] = { dtype: n.endsWith('i32') ? 'I32' : n.endsWith('i64') ? 'I64' : 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
      off += t.data.byteLength;
    }
    const json = JSON.stringify(header);
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(padded.length));
    const expected = Buffer.concat([len, Buffer.from(padded), ...names.map((n) => Buffer.from(tensors.get(n)!.data.buffer))]);
    expect(readFileSync(whole).equals(expected)).toBe(true);

    const streamed = path.join(dir, 'streamed.safetensors');
    const reads: number[] = [];
    const sources = new Map([...tensors].map(([n, t]) => [n, arraySource(t, reads)]));
    await writeSafetensors(streamed, sources, { format: 'pt' }, chunkBytes === undefined ? {} : { chunkBytes });
    expect(readFileSync(streamed).equals(expected)).toBe(true);
    // No read exceeds the chunk; a mix of sources and arrays gives the same bytes too.
    expect(Math.max(...reads)).toBeLessThanOrEqual(chunkBytes ?? 4 * 1024 * 1024);
    if (chunkBytes === 3) expect(reads.length).toBe(Math.ceil(f.byteLength / 3) + Math.ceil(20 / 3) + 8 + 2);
    const mixed = new Map<string, WritableTensor | TensorSource>(tensors);
    mixed.set('b.f32', sources.get('b.f32')!);
    await writeSafetensors(streamed, mixed, { format: 'pt' }, { chunkBytes: chunkBytes ?? 64 });
    expect(readFileSync(streamed).equals(expected)).toBe(true);
  });

  test('a source that fails is an error naming the file and the tensor; no file is left', async () => {
    const file = path.join(dir, 'fails.safetensors');
    const bad: TensorSource = {
      shape: [4], dtype: 'F32', length: 4,
      open: () => () => {
        throw new Error('tensor is disposed');
      },
    };
    await expect(writeSafetensors(file, new Map([['w', bad]]))).rejects.toThrow(/fails\.safetensors: cannot read tensor w: tensor is disposed/);
    expect((await fsp.readdir(dir)).filter((n) => n.includes('fails'))).toEqual([]);
  });

  test('a source whose length does not match its shape is refused before writing', async () => {
    const src = { ...arraySource({ shape: [3], data: new Float32Array(3) }), shape: [2, 2] };
    await expect(writeSafetensors(path.join(dir, 'badsrc.safetensors'), new Map([['w', src]]))).rejects.toThrow(/badsrc\.safetensors: tensor w has 3 values but shape \[2, 2\] needs 4/);
  });
});

describe('reading hand-made files', () => {
  test('F32, F16, BF16 and F64 decode to the known values', async () => {
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(1.5, 0);
    f32.writeFloatLE(-2, 4);
    // F16: 1.5 = 0x3E00, −2 = 0xC000, 65504 = 0x7BFF (largest), 0x0001 = 2⁻²⁴ (smallest subnormal),
    // 0x0400 = 2⁻¹⁴ (smallest normal), 0x8000 = −0, 0x7C00 = +∞, 0x7E00 = NaN.
    const f16 = u16le([0x3e00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00, 0x7e00]);
    // BF16: 1.5 = 0x3FC0, −2 = 0xC000, 65280 = 0x477F, 0x0001 = 2⁻¹³³ (float32 subnormal), −∞ = 0xFF80.
    const bf16 = u16le([0x3fc0, 0xc000, 0x477f, 0x0001, 0xff80]);
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(1 / 3, 0);
    const data = Buffer.concat([f32, f16, bf16, f64]);
    const header = {
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      h: { dtype: 'F16', shape: [2, 4], data_offsets: [8, 24] },
      b: { dtype: 'BF16', shape: [5], data_offsets: [24, 34] },
      d: { dtype: 'F64', shape: [1, 1], data_offsets: [34, 42] },
    };
    const file = handMade('known.safetensors', header, data);
    const { tensors, metadata } = await readSafetensorsF32(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(tensors.get('a')!.data)).toEqual([1.5, -2]);
    const h = Array.from(tensors.get('h')!.data);
    expect(tensors.get('h')!.shape).toEqual([2, 4]);
    expect(h.slice(0, 5)).toEqual([1.5, -2, 65504, 2 ** -24, 2 ** -14]);
    expect(Object.is(h[5], -0)).toBe(true);
    expect(h[6]).toBe(Infinity);
    expect(h[7]).toBeNaN();
    expect(Array.from(tensors.get('b')!.data)).toEqual([1.5, -2, 65280, 2 ** -133, -Infinity]);
    expect(tensors.get('d')!.data[0]).toBe(Math.fround(1 / 3));
  });

  test('halfToFloat agrees with a second decoding through Float32 bit patterns for every normal half', () => {
    // Independent route: rebias the exponent and shift the mantissa into a float32 bit pattern.
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let h = 0; h < 0x10000; h += 7) {
      const exp = (h >> 10) & 0x1f;
      if (exp === 0 || exp === 0x1f) continue;
      u[0] = ((h & 0x8000) << 16) | ((exp - 15 + 127) << 23) | ((h & 0x3ff) << 13);
      expect(halfToFloat(h)).toBe(f[0]);
    }
  });

  test('I32/I64/U8 tensors are read as integer arrays; asking for floats names the tensor', async () => {
    const data = Buffer.alloc(13);
    data.writeInt32LE(-7, 0);
    data.writeBigInt64LE(-5n, 4);
    data[12] = 200;
    const file = handMade('ints.safetensors', {
      i: { dtype: 'I32', shape: [1], data_offsets: [0, 4] },
      l: { dtype: 'I64', shape: [1], data_offsets: [4, 12] },
      u: { dtype: 'U8', shape: [1], data_offsets: [12, 13] },
    }, data);
    const { tensors } = await readSafetensors(file);
    expect((tensors.get('i')!.data as Int32Array)[0]).toBe(-7);
    expect((tensors.get('l')!.data as BigInt64Array)[0]).toBe(-5n);
    expect((tensors.get('u')!.data as Uint8Array)[0]).toBe(200);
    await expect(readSafetensorsF32(file)).rejects.toThrow(/ints\.safetensors: tensor i has dtype I32; a floating-point tensor was expected/);
  });
});

describe('corrupt files: errors name the file and the tensor', () => {
  const ok = (): Buffer => Buffer.alloc(8);
  const cases: [string, () => string, RegExp][] = [
    ['truncated below 8 bytes', () => { const f = path.join(dir, 'c1.safetensors'); writeFileSync(f, Buffer.alloc(5)); return f; }, /c1\.safetensors: truncated file \(5 bytes/],
    ['header length past end', () => handMade('c2.safetensors', {}, ok(), { lenOverride: 1000n }), /c2\.safetensors: header length 1000 runs past the end of the file/],
    ['bad JSON header', () => handMade('c3.safetensors', null, ok(), { rawHeader: '{"w": {"dtype": "F32",' }), /c3\.safetensors: safetensors header is not valid JSON/],
    ['header not an object', () => handMade('c3b.safetensors', null, ok(), { rawHeader: '[1, 2]' }), /c3b\.safetensors: safetensors header must be a JSON object/],
    ['offsets out of range', () => handMade('c4.safetensors', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, ok()), /c4\.safetensors: tensor w: data_offsets \[0, 16\] out of range \(data section has 8 bytes/],
    ['overlapping offsets', () => handMade('c5.safetensors', {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    }, ok()), /c5\.safetensors: tensor b bytes \[4, 8\) overlap tensor a \[0, 8\)/],
    ['unknown dtype', () => handMade('c6.safetensors', { w: { dtype: 'F13', shape: [2], data_offsets: [0, 8] } }, ok()), /c6\.safetensors: tensor w: unknown dtype F13/],
    ['known but unsupported dtype', () => handMade('c6b.safetensors', { w: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, ok()), /c6b\.safetensors: tensor w: unsupported dtype F8_E4M3/],
    ['byte size ≠ shape × dtype size', () => handMade('c7.safetensors', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, ok()), /c7\.safetensors: tensor w: 8 bytes but shape \[3\] × F32 needs 12/],
    ['gap between tensors', () => handMade('c8.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, ok()), /c8\.safetensors: tensor w starts at byte 4 but the previous tensor ends at 0/],
    ['trailing data (file longer than header says)', () => handMade('c9.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, ok()), /c9\.safetensors: tensors cover 4 bytes but the data section has 8/],
    ['bad shape', () => handMade('c10.safetensors', { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, ok()), /c10\.safetensors: tensor w: shape must be a list of non-negative integers/],
    ['non-string metadata', () => handMade('c11.safetensors', { __metadata__: { step: 3 } }, Buffer.alloc(0)), /c11\.safetensors: __metadata__\.step must be a string/],
  ];
  test.each(cases)('%s', async (_label, make, message) => {
    const file = make();
    const err = await readSafetensors(file).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as Error).message).toMatch(message);
  });

  test('a truncated tensor section is reported (file cut after a valid header)', async () => {
    const file = path.join(dir, 'cut.safetensors');
    await writeSafetensors(file, new Map([['big', { shape: [16], data: new Float32Array(16) }]]));
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    await expect(readSafetensors(file)).rejects.toThrow(/cut\.safetensors: tensor big: data_offsets \[0, 64\] out of range \(data section has 54 bytes; file truncated\?\)/);
  });

  test('a missing file is a PtflowError naming it', async () => {
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(/cannot open .*nope\.safetensors/);
  });
});

describe('sharded checkpoints', () => {
  const weights = new Map([
    ['a.weight', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }],
    ['b.weight', { shape: [2], data: Float32Array.from([5, 6]) }],
    ['c.weight', { shape: [3], data: Float32Array.from([7, 8, 9]) }],
  ]);

  test('write with a small shard size, then read back through the index', async () => {
    const d = path.join(dir, 'sharded');
    await fsp.mkdir(d);
    const files = await writeShardedSafetensors(d, weights, 24);
    // 16 + 8 bytes fit in one 24-byte shard; 12 more start the second.
    expect(files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', SAFE_WEIGHTS_INDEX_NAME]);
    const index = JSON.parse(readFileSync(path.join(d, SAFE_WEIGHTS_INDEX_NAME), 'utf8'));
    expect(index).toEqual({
      metadata: { total_size: 36 },
      weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00001-of-00002.safetensors', 'c.weight': 'model-00002-of-00002.safetensors' },
    });
    expect((await readSafetensors(path.join(d, 'model-00002-of-00002.safetensors'))).metadata).toEqual({ format: 'pt' });
    const back = await readShardedSafetensorsF32(path.join(d, SAFE_WEIGHTS_INDEX_NAME));
    expect([...back.keys()].sort()).toEqual(['a.weight', 'b.weight', 'c.weight']);
    expect(Array.from(back.get('c.weight')!.data)).toEqual([7, 8, 9]);
  });

  test('index and shards that disagree, or an index pointing outside its directory, are errors', async () => {
    const d = path.join(dir, 'sharded-bad');
    await fsp.mkdir(d);
    await writeSafetensors(path.join(d, 's1.safetensors'), new Map([['a.weight', weights.get('a.weight')!]]));
    const idx = path.join(d, SAFE_WEIGHTS_INDEX_NAME);
    writeFileSync(idx, JSON.stringify({ weight_map: { 'a.weight': 's1.safetensors', 'z.weight': 's1.safetensors' } }));
    await expect(readShardedSafetensorsF32(idx)).rejects.toThrow(/weight_map puts tensor z\.weight in s1\.safetensors, but .*s1\.safetensors has no such tensor/);
    writeFileSync(idx, JSON.stringify({ weight_map: {} }));
    await expect(readShardedSafetensorsF32(idx)).resolves.toEqual(new Map());
    writeFileSync(idx, JSON.stringify({ weight_map: { 'a.weight': '../s1.safetensors' } }));
    await expect(readShardedSafetensorsF32(idx)).rejects.toThrow(/weight_map\.a\.weight names "\.\.\/s1\.safetensors"/);
    writeFileSync(idx, JSON.stringify({ weight_map: { 'a.weight': 3 } }));
    await expect(readShardedSafetensorsF32(idx)).rejects.toThrow(/index\.json: weight_map\.a\.weight/);
  });

  test('tensors in a shard that the index does not list are reported', async () => {
    const d = path.join(dir, 'sharded-extra');
    await fsp.mkdir(d);
    await writeSafetensors(path.join(d, 's1.safetensors'), weights);
    const idx = path.join(d, SAFE_WEIGHTS_INDEX_NAME);
    writeFileSync(idx, JSON.stringify({ weight_map: { 'a.weight': 's1.safetensors' } }));
    await expect(readShardedSafetensorsF32(idx)).rejects.toThrow(/s1\.safetensors: tensor b\.weight is not listed for this shard/);
  });
});
