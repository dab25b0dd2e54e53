import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Dictionary, Int32, LargeUtf8, Table, Utf8, tableToIPC, vectorFromArray, type DataType } from 'apache-arrow';
import { PtflowError } from '../../errors';
import { collectDocs } from './index';
import { readArrow } from './arrow';
import { withOwnTmpdir } from './testing/own-tmpdir';
import { zstdStoredFrame } from './testing/zstd-frame';

let dir: string;
const write = (name: string, content: Uint8Array | string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-arrow-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const texts = Array.from({ length: 300 }, (_, i) => `doc ${i}: ${'ünï '.repeat(i % 7)}${i % 13 === 0 ? '\nsecond line' : ''}`);

/** A table of `texts` in record batches of `batch` rows, the text column typed `type`. */
function table(opts: { batch?: number; type?: DataType; values?: (string | null)[] } = {}): Table {
  const values = opts.values ?? texts;
  const size = opts.batch ?? 100;
  const parts: Table[] = [];
  for (let at = 0; at < values.length; at += size) {
    const slice = values.slice(at, at + size);
    parts.push(
      new Table({
        id: vectorFromArray(slice.map((_, i) => at + i), new Int32()),
        text: vectorFromArray(slice, opts.type ?? new Utf8()),
      }),
    );
  }
  return parts.length === 1 ? parts[0] : parts[0].concat(...parts.slice(1));
}
async function read(file: string, textColumn = 'text'): Promise<{ texts: string[]; rows: (number | undefined)[] }> {
  const docs = await collectDocs({ files: [file], format: 'arrow', textColumn });
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

describe('arrow reader', () => {
  it('the test table really has several record batches', () => {
    expect(table().batches.length).toBe(3);
  });

  const compress: Record<string, (b: Uint8Array) => Uint8Array> = {
    '': (b) => b,
    '.gz': (b) => zlib.gzipSync(b),
    '.zst': (b) => zstdStoredFrame(b),
  };
  for (const format of ['stream', 'file'] as const) {
    for (const [ext, fn] of Object.entries(compress)) {
      it(`reads the IPC ${format} format${ext ? ` compressed (${ext})` : ''} batch by batch`, async () => {
        const p = write(`a-${format}.arrow${ext}`, fn(tableToIPC(table(), format)));
        const got = await read(p);
        expect(got.texts).toEqual(texts);
        expect(got.rows).toEqual(texts.map((_, i) => i));
      });
    }
  }

  it.each([
    ['large_string', new LargeUtf8()],
    ['dictionary-encoded string', new Dictionary(new Utf8(), new Int32())],
  ])('reads a %s text column', async (_label, type) => {
    const p = write('t.arrow', tableToIPC(table({ type }), 'stream'));
    expect((await read(p)).texts).toEqual(texts);
  });

  it('stops early without reading the rest, and leaves no temporary copy behind', async () => {
    // A temp dir of this test's own: other test files make decompressed copies at the same time.
    await withOwnTmpdir(async (tmp) => {
      for (const [name, bytes] of [
        ['s.arrow', tableToIPC(table(), 'stream')],
        ['f.arrow.gz', zlib.gzipSync(tableToIPC(table(), 'file'))],
        ['s.arrow.zst', zstdStoredFrame(tableToIPC(table(), 'stream'))],
      ] as const) {
        const docs = await collectDocs({ files: [write(name, bytes)], format: 'arrow', textColumn: 'text' }, 2);
        expect(docs.map((d) => d.text)).toEqual(texts.slice(0, 2));
      }
      expect(fs.readdirSync(tmp)).toEqual([]);
    });
  });

  it('a truncated stream gives the complete batches, then a PtflowError naming the file and batch', async () => {
    const bytes = tableToIPC(table(), 'stream');
    const p = write('cut.arrow', bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    const got: string[] = [];
    let err: unknown;
    try {
      for await (const d of readArrow(p, { textColumn: 'text' })) got.push(d.text);
    } catch (e) {
      err = e;
    }
    expect(got).toEqual(texts.slice(0, 200));
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as Error).message).toContain(`${p}: record batch 2 (after row 199): corrupt Arrow data`);
  });

  it.each([
    ['an empty file', 'e.arrow', () => '', /e\.arrow: empty file/],
    ['an empty .arrow.zst', 'e.arrow.zst', () => '', /e\.arrow\.zst: empty file \(not zstd data\)/],
    ['not arrow', 'n.arrow', () => 'text\nhello, world, this is not arrow\n', /n\.arrow: not a readable Arrow IPC file or stream/],
    ['a truncated file-format file', 't.arrow', () => tableToIPC(table(), 'file').subarray(0, 500), /t\.arrow: not a readable Arrow IPC file or stream/],
    ['a truncated .arrow.gz', 't.arrow.gz', () => zlib.gzipSync(tableToIPC(table(), 'stream')).subarray(0, 400), /t\.arrow\.gz: corrupt or truncated gzip data/],
    ['a missing text column', 'm.arrow', () => tableToIPC(table(), 'stream'), /m\.arrow: missing text column "body" \(columns: id, text; set columns\.prompt/, 'body'],
    ['a non-string text column', 'i.arrow', () => tableToIPC(table(), 'stream'), /i\.arrow: text column "id" has Arrow type Int32, expected a string \(utf8\) column/, 'id'],
    ['a null text', 'z.arrow', () => tableToIPC(table({ values: ['a', 'b', 'c', null], batch: 3 }), 'file'), /z\.arrow: row 3 \(record batch 1\): text column "text" is null/],
  ] as Array<[string, string, () => string | Uint8Array, RegExp, string?]>)('error: %s', async (_label, name, content, message, column = 'text') => {
    const p = write(name, content());
    const err = await errorOf(p, column);
    expect(err).toBeInstanceOf(PtflowError);
    expect(err.message).toMatch(message);
  });
});
