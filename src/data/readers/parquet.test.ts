import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PtflowError } from '../../errors';
import { collectDocs } from './index';
import { readParquet } from './parquet';
import { withOwnTmpdir } from './testing/own-tmpdir';
import { zstdStoredFrame } from './testing/zstd-frame';

let dir: string;
const write = (name: string, content: Uint8Array | ArrayBuffer | string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content instanceof ArrayBuffer ? new Uint8Array(content) : content);
  return p;
};
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-parquet-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const texts = Array.from({ length: 250 }, (_, i) => `doc ${i}: ${'ünï '.repeat(i % 9)}${i % 17 === 0 ? '\nwith a newline' : ''}`);
type Codec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'ZSTD';
/** Page compressors for the writer: gzip by zlib, zstd as stored frames (independent of the reader's). */
const pageCompressors = { GZIP: (b: Uint8Array) => new Uint8Array(zlib.gzipSync(b)), ZSTD: (b: Uint8Array) => zstdStoredFrame(b) };

function parquetBytes(opts: { codec?: Codec; rowGroupSize?: number; textData?: (string | null)[]; textType?: 'STRING' | 'INT32' } = {}): ArrayBuffer {
  const textData = opts.textData ?? texts;
  return parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Int32Array.from(textData, (_, i) => i), type: 'INT32' },
      opts.textType === 'INT32'
        ? { name: 'text', data: Int32Array.from(textData, (_, i) => i * 2), type: 'INT32' }
        : { name: 'text', data: textData, type: 'STRING', nullable: textData.includes(null) },
      { name: 'source', data: textData.map(() => 'web'), type: 'STRING' },
    ],
    codec: opts.codec ?? 'SNAPPY',
    compressors: pageCompressors,
    rowGroupSize: opts.rowGroupSize ?? 100,
  });
}
async function read(file: string, textColumn = 'text'): Promise<{ texts: string[]; rows: (number | undefined)[] }> {
  const docs = await collectDocs({ files: [file], format: 'parquet', textColumn });
  return { texts: docs.map((d) => d.text), rows: docs.map((d) => d.loc.row) };
}
async function errorOf(file: string, textColumn = 'text'): Promise<Error> {
  try {
    await read(file, textColumn);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('parquet reader', () => {
  it.each(['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD'] as const)('reads the text column of %s pages over several row groups', async (codec) => {
    const p = write(`a-${codec}.parquet`, parquetBytes({ codec, rowGroupSize: 100 }));
    const got = await read(p);
    expect(got.texts).toEqual(texts);
    expect(got.rows).toEqual(texts.map((_, i) => i));
  });

  it('uses the configured text column', async () => {
    const p = write('c.parquet', parquetBytes());
    expect((await read(p, 'source')).texts).toEqual(texts.map(() => 'web'));
  });

  it.each([
    ['gz', (b: Uint8Array) => zlib.gzipSync(b)],
    ['zst', (b: Uint8Array) => zstdStoredFrame(b)],
  ])('reads a .parquet.%s file through a temporary decompressed copy, then deletes it', async (ext, compress) => {
    const p = write(`a.parquet.${ext}`, compress(new Uint8Array(parquetBytes({ rowGroupSize: 64 }))));
    // A temp dir of this test's own: other test files make decompressed copies at the same time.
    await withOwnTmpdir(async (tmp) => {
      expect((await read(p)).texts).toEqual(texts);
      // stopping early releases the copy too
      expect((await collectDocs({ files: [p], format: 'parquet', textColumn: 'text' }, 3)).map((d) => d.text)).toEqual(texts.slice(0, 3));
      expect(fs.readdirSync(tmp)).toEqual([]);
    });
  });

  it('reads row group by row group: the first document comes before later row groups are read', async () => {
    const p = write('lazy.parquet', parquetBytes({ rowGroupSize: 50 }));
    const gen = readParquet(p, { textColumn: 'text' });
    expect((await gen.next()).value?.text).toBe(texts[0]);
    // break the file's later bytes: only row group 0 (already read) is intact
    const bytes = fs.readFileSync(p);
    const metaStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
    fs.writeFileSync(p, Buffer.concat([bytes.subarray(0, 4), Buffer.alloc(metaStart - 4, 0xee), bytes.subarray(metaStart)]));
    // still served from the row group read before the damage
    for (let i = 1; i < 50; i++) expect((await gen.next()).value?.text).toBe(texts[i]);
    await expect(gen.next()).rejects.toThrow(`${p}: row group 1 (rows 50–99): corrupt parquet data`);
  });

  it.each([
    ['an empty file', () => '', /e\.parquet: empty file \(not a parquet file\)/, 'text'],
    ['not parquet', () => 'id,text\n1,hello\n', /e\.parquet: not a readable parquet file/, 'text'],
    ['a truncated file', () => new Uint8Array(parquetBytes()).subarray(0, 300), /e\.parquet: not a readable parquet file/, 'text'],
    ['a missing text column', () => new Uint8Array(parquetBytes()), /e\.parquet: missing text column "body" \(columns: id, text, source; set columns\.prompt/, 'body'],
    ['a non-string text column', () => new Uint8Array(parquetBytes({ textType: 'INT32' })), /e\.parquet: text column "text" is of type INT32, expected a string \(BYTE_ARRAY\) column/, 'text'],
    ['a null text', () => new Uint8Array(parquetBytes({ textData: ['a', 'b', null, 'd'], rowGroupSize: 2 })), /e\.parquet: row 2: text column "text" is null/, 'text'],
  ] as Array<[string, () => string | Uint8Array, RegExp, string]>)('error: %s', async (_label, content, message, column) => {
    const p = write('e.parquet', content());
    const err = await errorOf(p, column);
    expect(err).toBeInstanceOf(PtflowError);
    expect(err.message).toMatch(message);
  });

  it('a corrupt page names the row group', async () => {
    const bytes = Buffer.from(parquetBytes({ codec: 'GZIP', rowGroupSize: 100 }));
    // overwrite the page header at the start of row group 1's text column chunk
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const chunk = meta.row_groups[1].columns[1].meta_data;
    if (!chunk) throw new Error('no column metadata');
    const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
    bytes.fill(0xff, start, start + 16);
    const p = write('g.parquet', bytes);
    const docs: string[] = [];
    let err: unknown;
    try {
      for await (const d of readParquet(p, { textColumn: 'text' })) docs.push(d.text);
    } catch (e) {
      err = e;
    }
    expect(docs).toEqual(texts.slice(0, 100)); // row group 0 is intact
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as Error).message).toMatch(/g\.parquet: row group 1 \(rows 100–199\): corrupt parquet data/);
  });
});

describe('parquet files written by other implementations (apache/parquet-testing)', () => {
  const fixtures = path.join(__dirname, 'fixtures');
  const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'parquet-testing.expected.json'), 'utf8')) as Record<
    string,
    { column: string; texts: (string | null)[] }
  >;

  it.each(['delta_length_byte_array.parquet', 'brotli_compressed.parquet', 'lz4_raw_compressed.parquet'])('%s', async (name) => {
    const { column, texts: want } = expected[name];
    expect((await read(path.join(fixtures, name), column)).texts).toEqual(want);
  });

  it('datapage_v2.snappy.parquet: the rows before a null, then an error naming the row', async () => {
    const p = path.join(fixtures, 'datapage_v2.snappy.parquet');
    const { column, texts: want } = expected['datapage_v2.snappy.parquet'];
    expect(want[3]).toBeNull();
    const got: string[] = [];
    let err: unknown;
    try {
      for await (const d of readParquet(p, { textColumn: column })) got.push(d.text);
    } catch (e) {
      err = e;
    }
    expect(got).toEqual(want.slice(0, 3));
    expect((err as Error).message).toBe(`${p}: row 3: text column "a" is null, expected a string`);
  });
});
