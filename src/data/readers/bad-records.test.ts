/**
 * on_bad_record: skip in the readers: with `onBadRecord` each reader yields exactly the good records
 * and reports every bad one once, with the line / row / byte computed here from how the test file was
 * built; without it the first bad record still throws.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PtflowError } from '../../errors';
import type { DatasetFormat } from '../registry';
import { collectDocs, describeBadRecord, type BadRecord, type Doc } from './index';
import { zstdStoredFrame } from './testing/zstd-frame';

let dir: string;
const write = (name: string, content: string | Uint8Array): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-badrec-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function skipping(format: DatasetFormat, files: string[], chunkBytes?: number, textColumn = 'text'): Promise<{ docs: Doc[]; bad: BadRecord[] }> {
  const bad: BadRecord[] = [];
  const docs = await collectDocs({ files, format, textColumn }, undefined, { chunkBytes, onBadRecord: (p) => bad.push(p) });
  return { docs, bad };
}
async function thrown(format: DatasetFormat, file: string, textColumn = 'text'): Promise<PtflowError> {
  try {
    await collectDocs({ files: [file], format, textColumn });
  } catch (e) {
    return e as PtflowError;
  }
  throw new Error('expected an error');
}

/** Lines of a JSON lines file: good records, bad ones, blank lines; with the 1-based line and byte offset of each. */
function jsonlCase(): { content: Buffer; good: string[]; bad: { line: number; byte: number; reason: RegExp }[] } {
  const lines: (string | Buffer)[] = [
    JSON.stringify({ text: 'one' }),
    '{"text": oops}',
    '',
    JSON.stringify({ text: 'two ünï' }),
    JSON.stringify({ body: 'no text' }),
    Buffer.concat([Buffer.from('{"text":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}')]),
    JSON.stringify({ text: null }),
    JSON.stringify({ text: 7 }),
    '[1,2]',
    JSON.stringify({ text: 'three' }),
  ];
  const reasons: Record<number, RegExp> = {
    2: /^malformed JSON: /,
    5: /^missing text column "text" \(keys: body;/,
    6: /^invalid UTF-8$/,
    7: /^text column "text" is null, expected a string$/,
    8: /^text column "text" is a number, expected a string$/,
    9: /^expected a JSON object with a "text" key, got an array$/,
  };
  const good: string[] = [];
  const bad: { line: number; byte: number; reason: RegExp }[] = [];
  let byte = 0;
  lines.forEach((l, i) => {
    const line = i + 1;
    if (reasons[line]) bad.push({ line, byte, reason: reasons[line] });
    else if (l.length > 0) good.push((JSON.parse(l.toString()) as { text: string }).text);
    byte += Buffer.byteLength(l) + 1;
  });
  return { content: Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')])), good, bad };
}

describe('on_bad_record: skip in the line-based readers', () => {
  it('jsonl: the good records, and each bad line reported with its line and byte, at every chunk size', async () => {
    const c = jsonlCase();
    const p = write('a.jsonl', c.content);
    for (const chunk of [16, 23, 1 << 20]) {
      const { docs, bad } = await skipping('jsonl', [p], chunk);
      expect(docs.map((d) => d.text)).toEqual(c.good);
      expect(docs.map((d) => d.loc.row)).toEqual([0, 1, 2]);
      expect(bad.map((b) => [b.file, b.line, b.byte])).toEqual(c.bad.map((b) => [p, b.line, b.byte]));
      bad.forEach((b, i) => expect(b.reason).toMatch(c.bad[i].reason));
    }
    // without the handler, the first bad line stops the read
    const e = await thrown('jsonl', p);
    expect(e.message).toMatch(new RegExp(`^${esc(p)}:2: malformed JSON`));
    expect(e.exitCode).toBe(2);
  });

  it('a .json file of JSON lines behaves as jsonl', async () => {
    const c = jsonlCase();
    const { docs, bad } = await skipping('json', [write('l.json', c.content)], 16);
    expect(docs.map((d) => d.text)).toEqual(c.good);
    expect(bad.map((b) => b.line)).toEqual(c.bad.map((b) => b.line));
  });

  it('txt: a line of invalid UTF-8 is reported; later line numbers are unchanged', async () => {
    const p = write('a.txt', Buffer.concat([Buffer.from('first\r\n'), Buffer.from([0x61, 0xc3]), Buffer.from('\rthird\n\nfifth')]));
    const { docs, bad } = await skipping('txt', [p], 16);
    expect(docs.map((d) => [d.text, d.loc.line, d.loc.byte])).toEqual([
      ['first', 1, 0],
      ['third', 3, 10],
      ['', 4, 16],
      ['fifth', 5, 17],
    ]);
    expect(bad).toEqual([{ file: p, line: 2, byte: 7, reason: 'invalid UTF-8' }]);
  });
});

describe('on_bad_record: skip in the json array reader', () => {
  it('skips bad elements and names the line where each starts', async () => {
    const content = Buffer.concat([
      Buffer.from('[\n  {"text": "a"},\n  {"text": nope},\n  {"x": 1,\n   "y": 2},\n  {"text": "'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"},\n  {"text": "b"}\n]\n'),
    ]);
    const p = write('a.json', content);
    for (const chunk of [16, 1 << 20]) {
      const { docs, bad } = await skipping('json', [p], chunk);
      expect(docs.map((d) => [d.text, d.loc.line])).toEqual([
        ['a', 2],
        ['b', 7],
      ]);
      expect(bad.map((b) => [b.line, b.byte])).toEqual([
        [3, content.indexOf('{"text": nope')],
        [4, content.indexOf('{"x"')],
        [6, content.lastIndexOf('{"text": "', content.indexOf(0xc3))],
      ]);
      expect(bad.map((b) => b.reason.split(':')[0])).toEqual(['malformed JSON', 'missing text column "text" (keys', 'invalid UTF-8']);
    }
  });

  it.each([
    ['a trailing comma', '[{"text":"a"},\n{"text":"b"},\n]', 3, 'malformed JSON: trailing comma before "]"'],
    ['data after the array', '[{"text":"a"},\n{"text":"b"}]\n{"text":"c"}', 3, 'malformed JSON: unexpected data after the closing "]" of the array'],
    ['a truncated array', '[{"text":"a"},\n{"text":"b"},\n{"text":"c', 3, 'malformed JSON: unexpected end of file inside the array (element starting at line 3)'],
  ])('%s: the elements before it, then one report and the file ends', async (_l, content, line, reason) => {
    const p = write('b.json', content);
    const { docs, bad } = await skipping('json', [p], 16);
    expect(docs.map((d) => d.text)).toEqual(['a', 'b']);
    expect(bad).toEqual([{ file: p, line, reason }]);
  });
});

describe('on_bad_record: skip in the csv reader', () => {
  it('skips records that cannot be parsed, naming their line', async () => {
    const p = write('a.csv', 'id,text\n1,one\n2,two,extra\n3\n4,"four, quoted"\n5,five\n');
    const { docs, bad } = await skipping('csv', [p], 16);
    expect(docs.map((d) => [d.text, d.loc.line])).toEqual([
      ['one', 2],
      ['four, quoted', 5],
      ['five', 6],
    ]);
    expect(bad.map((b) => [b.file, b.line])).toEqual([
      [p, 3],
      [p, 4],
    ]);
    expect(bad[0].reason).toMatch(/^malformed CSV: Invalid Record Length: columns length is 2, got 3 on line 3/);
    expect((await thrown('csv', p)).message).toMatch(new RegExp(`^${esc(p)}:3: malformed CSV`));
  });

  it('a header without the text column: one report, no documents, the next file is read', async () => {
    const a = write('a.csv', 'id,body\n1,x\n2,y\n');
    const b = write('b.csv', 'text\nfrom b\n');
    const { docs, bad } = await skipping('csv', [a, b]);
    expect(docs.map((d) => d.text)).toEqual(['from b']);
    expect(bad).toEqual([{ file: a, line: 1, reason: 'missing text column "text" (columns: id, body; set columns.prompt in dataset_info.json)' }]);
  });
});

describe('on_bad_record: skip with corrupt compressed files', () => {
  const lines = Array.from({ length: 10000 }, (_, i) => JSON.stringify({ text: `record ${i} ${'x'.repeat(i % 50)}` })); // 3 zstd blocks and more
  const raw = Buffer.from(lines.join('\n') + '\n');
  /** Byte offset after line i's "\n". */
  const ends: number[] = [];
  for (let i = 0, at = 0; i < lines.length; i++) ends.push((at += Buffer.byteLength(lines[i]) + 1));

  it.each([
    ['gzip', '.gz', (b: Buffer) => zlib.gzipSync(b)],
    ['zstd', '.zst', (b: Buffer) => Buffer.from(zstdStoredFrame(b))],
  ])('%s: the records decoded before the corruption, one report with its byte offset, then the next file', async (kind, ext, pack) => {
    const whole = pack(raw);
    const cut = write(`cut.jsonl${ext}`, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const next = write('next.jsonl', '{"text":"after"}\n');
    for (const format of ['jsonl', 'json', 'txt'] as const) {
      const { docs, bad } = await skipping(format, [cut, next], 4096);
      expect(bad).toHaveLength(1);
      expect(bad[0].file).toBe(cut);
      expect(bad[0].reason).toMatch(new RegExp(`^corrupt or truncated ${kind} data after ${bad[0].byte} decompressed bytes`));
      // every line that ended before the break was read, and nothing else from that file
      const complete = ends.filter((e) => e <= (bad[0].byte as number)).length;
      expect(complete).toBeGreaterThan(100);
      expect(complete).toBeLessThan(lines.length);
      const want = lines.slice(0, complete).map((l) => (format === 'txt' ? l : (JSON.parse(l) as { text: string }).text));
      expect(docs.map((d) => d.text)).toEqual([...want, format === 'txt' ? '{"text":"after"}' : 'after']);
      expect(bad[0].line).toBe(complete + 1); // the line it broke off
    }
  });

  it('an empty .gz / .zst is one report (byte 0), for every format', async () => {
    for (const format of ['jsonl', 'json', 'txt', 'csv', 'parquet', 'arrow'] as const) {
      for (const ext of ['.gz', '.zst']) {
        const p = write(`e.${format}${ext}`, '');
        const { docs, bad } = await skipping(format, [p]);
        expect(docs).toEqual([]);
        expect(bad).toHaveLength(1);
        expect(bad[0]).toMatchObject({ file: p, byte: 0 });
        expect(bad[0].reason).toMatch(/^empty file/);
      }
    }
  });

  it('csv.gz: the records before the corruption, one report', async () => {
    const csv = Buffer.from('text\n' + Array.from({ length: 3000 }, (_, i) => `row ${i}`).join('\n') + '\n');
    const gz = zlib.gzipSync(csv);
    const p = write('c.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const { docs, bad } = await skipping('csv', [p]);
    expect(bad).toHaveLength(1);
    expect(bad[0].reason).toMatch(/^corrupt or truncated gzip data/);
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.map((d) => d.text)).toEqual(Array.from({ length: docs.length }, (_, i) => `row ${i}`));
  });

  it('a missing file is not bad data: it still throws', async () => {
    const missing = path.join(dir, 'missing.jsonl');
    await expect(skipping('jsonl', [missing])).rejects.toThrow(`Cannot open ${missing}`);
  });
});

describe('on_bad_record: skip in the parquet and arrow readers', () => {
  const values = ['a', null, 'c', 'd', null, 'f', 'g'];

  it('parquet: null texts are reported by row; other rows keep their row numbers', async () => {
    const bytes = parquetWriteBuffer({
      columnData: [{ name: 'text', data: values, type: 'STRING', nullable: true }],
      rowGroupSize: 3,
    });
    const p = write('a.parquet', new Uint8Array(bytes));
    const { docs, bad } = await skipping('parquet', [p]);
    expect(docs.map((d) => [d.text, d.loc.row])).toEqual([
      ['a', 0],
      ['c', 2],
      ['d', 3],
      ['f', 5],
      ['g', 6],
    ]);
    expect(bad).toEqual([
      { file: p, row: 1, reason: 'text column "text" is null, expected a string' },
      { file: p, row: 4, reason: 'text column "text" is null, expected a string' },
    ]);
  });

  it('parquet: a missing text column is one report for the file', async () => {
    const bytes = parquetWriteBuffer({ columnData: [{ name: 'body', data: ['x'], type: 'STRING' }] });
    const p = write('m.parquet', new Uint8Array(bytes));
    const { docs, bad } = await skipping('parquet', [p]);
    expect(docs).toEqual([]);
    expect(bad).toEqual([{ file: p, reason: 'missing text column "text" (columns: body; set columns.prompt in dataset_info.json)' }]);
  });

  it('parquet: a corrupt row group is one report at its first row; the row groups after it are read', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `doc ${i}`);
    const bytes = Buffer.from(
      parquetWriteBuffer({ columnData: [{ name: 'text', data: texts, type: 'STRING' }], rowGroupSize: 100, codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(zlib.gzipSync(b)) } }),
    );
    const chunk = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).row_groups[1].columns[0].meta_data;
    if (!chunk) throw new Error('no column metadata');
    const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
    bytes.fill(0xff, start, start + 16); // the page header of row group 1
    const p = write('g.parquet', bytes);
    const { docs, bad } = await skipping('parquet', [p]);
    expect(docs.map((d) => d.text)).toEqual([...texts.slice(0, 100), ...texts.slice(200)]);
    expect(docs.map((d) => d.loc.row)).toEqual([...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 200 + i)]);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ file: p, row: 100 });
    expect(bad[0].reason).toMatch(/^row group 1 \(rows 100–199\): corrupt parquet data/);
  });

  const arrowTable = (texts: (string | null)[], batch: number): Table => {
    const parts: Table[] = [];
    for (let at = 0; at < texts.length; at += batch) {
      const slice = texts.slice(at, at + batch);
      parts.push(new Table({ id: vectorFromArray(slice.map((_, i) => at + i), new Int32()), text: vectorFromArray(slice, new Utf8()) }));
    }
    return parts[0].concat(...parts.slice(1));
  };

  it.each(['stream', 'file'] as const)('arrow (%s format): null texts are reported by row', async (format) => {
    const p = write('a.arrow', tableToIPC(arrowTable(values, 3), format));
    const { docs, bad } = await skipping('arrow', [p]);
    expect(docs.map((d) => [d.text, d.loc.row])).toEqual([
      ['a', 0],
      ['c', 2],
      ['d', 3],
      ['f', 5],
      ['g', 6],
    ]);
    expect(bad.map((b) => [b.row, b.reason])).toEqual([
      [1, 'text column "text" is null, expected a string'],
      [4, 'text column "text" is null, expected a string'],
    ]);
  });

  it('arrow: a truncated stream keeps the complete batches and is one report at the first lost row', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `doc ${i}`);
    const bytes = tableToIPC(arrowTable(texts, 100), 'stream');
    const p = write('cut.arrow', bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    const { docs, bad } = await skipping('arrow', [p]);
    expect(docs.map((d) => d.text)).toEqual(texts.slice(0, 200));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ file: p, row: 200 });
    expect(bad[0].reason).toMatch(/^record batch 2 \(after row 199\): corrupt Arrow data/);
  });
});

describe('describeBadRecord', () => {
  it('names file:line, row or byte', () => {
    expect(describeBadRecord({ file: 'a.jsonl', line: 3, byte: 40, reason: 'malformed JSON: x' })).toBe('a.jsonl:3: malformed JSON: x');
    expect(describeBadRecord({ file: 'a.parquet', row: 7, reason: 'null' })).toBe('a.parquet: row 7: null');
    expect(describeBadRecord({ file: 'a.gz', byte: 9, reason: 'corrupt' })).toBe('a.gz: byte 9: corrupt');
    expect(describeBadRecord({ file: 'a.csv', reason: 'empty' })).toBe('a.csv: empty');
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
