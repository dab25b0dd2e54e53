import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PtflowError } from '../../errors';
import { collectDocs } from '../readers';
import { zstdStoredFrame } from '../readers/testing/zstd-frame';
import type { DatasetFormat } from '../registry';
import { fetchRecords, recordsFrom, type FileRef, type Rec } from './file-records';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-records-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: string | Uint8Array): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

async function all(ref: FileRef, pos = 0, chunk?: number, io = { bytes: 0 }): Promise<Rec[]> {
  const out: Rec[] = [];
  for await (const r of recordsFrom(ref, pos, io, chunk)) out.push(r);
  return out;
}

const JSONL = '\ufeff' + [
  JSON.stringify({ text: 'première ligne', id: 1 }),
  '',
  '   ',
  JSON.stringify({ text: 'with\nnewline "quoted"' }) + '\r',
  JSON.stringify({ text: '' }),
  JSON.stringify({ text: 'x'.repeat(300) }),
  JSON.stringify({ text: 'last, no newline' }),
].join('\n');
const TXT = 'one\r\ntwo\rthree\n\nfive\r\n\r\nseven\r';

describe('recordsFrom', () => {
  const cases: [string, DatasetFormat, string][] = [
    ['a.jsonl', 'jsonl', JSONL],
    ['a.txt', 'txt', TXT],
    ['lines.json', 'json', JSONL],
  ];
  for (const [name, format, content] of cases) {
    for (const comp of ['', '.gz', '.zst']) {
      it(`${name}${comp}: same texts and byte offsets as the readers, at every chunk size`, async () => {
        const raw = Buffer.from(content);
        const file = write(name + comp, comp === '.gz' ? zlib.gzipSync(raw) : comp === '.zst' ? zstdStoredFrame(raw) : raw);
        const ref = { file, format, textColumn: 'text' };
        const expected = await collectDocs({ files: [file], format, textColumn: 'text' });
        for (const chunk of [16, 17, 1000, 1 << 20]) {
          const got = await all(ref, 0, chunk);
          expect(got.map((r) => r.text)).toEqual(expected.map((d) => d.text));
          expect(got.map((r) => r.pos)).toEqual(expected.map((d) => d.loc.byte));
          // every `next` is the start of the following record or past blank lines before it
          for (let i = 0; i + 1 < got.length; i++) expect(got[i].next).toBeLessThanOrEqual(got[i + 1].pos);
          // reading from any record's position (or any `next`) gives exactly the rest
          for (let i = 0; i < got.length; i++) {
            expect(await all(ref, got[i].pos, chunk)).toEqual(got.slice(i));
            expect(await all(ref, got[i].next, chunk)).toEqual(got.slice(i + 1));
          }
        }
      });
    }
  }

  it('csv and json arrays are addressed by record index', async () => {
    const csv = write('a.csv', 'id,text\n1,"a, b"\n2,"multi\nline"\n3,c\n');
    const arr = write('a.json', JSON.stringify([{ text: 'p' }, { text: 'q' }, { text: 'r' }]));
    for (const [file, format, texts] of [[csv, 'csv', ['a, b', 'multi\nline', 'c']], [arr, 'json', ['p', 'q', 'r']]] as const) {
      const ref = { file, format, textColumn: 'text' };
      expect(await all(ref)).toEqual(texts.map((text, i) => ({ text, pos: i, next: i + 1 })));
      expect((await all(ref, 2)).map((r) => r.text)).toEqual([texts[2]]);
      const got = await fetchRecords(ref, [{ pos: 2, next: 3 }, { pos: 0, next: 1 }], { bytes: 0 });
      expect([...got.entries()].sort()).toEqual([[0, texts[0]], [2, texts[2]]]);
    }
  });

  it('seeking in a plain file reads only from the position on', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `doc ${i}` })).join('\n') + '\n';
    const file = write('big.jsonl', lines);
    const ref = { file, format: 'jsonl' as const, textColumn: 'text' };
    const size = Buffer.byteLength(lines);
    const recs = await all(ref, 0, 4096);
    const target = recs[19_000];
    const io = { bytes: 0 };
    const rest = await all(ref, target.pos, 4096, io);
    expect(rest[0].text).toBe('doc 19000');
    expect(io.bytes).toBe(size - target.pos);
    // a compressed copy has to decompress the skipped part (but does not parse it)
    const gz = write('big.jsonl.gz', zlib.gzipSync(lines));
    const ioGz = { bytes: 0 };
    const restGz = await all({ ...ref, file: gz }, target.pos, 4096, ioGz);
    expect(restGz).toEqual(rest);
    expect(ioGz.bytes).toBe(size);
  });

  it('errors name the file and the byte of the record', async () => {
    const file = write('bad.jsonl', '{"text":"ok"}\n{"text": nope}\n');
    await expect(all({ file, format: 'jsonl', textColumn: 'text' })).rejects.toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')} \\(record at byte 14\\): malformed JSON`));
    const miss = write('miss.jsonl', '{"body":"x"}\n');
    await expect(all({ file: miss, format: 'jsonl', textColumn: 'text' })).rejects.toThrow(/record at byte 0\): missing text column "text"/);
    await expect(all({ file: path.join(dir, 'none.jsonl'), format: 'jsonl', textColumn: 'text' })).rejects.toThrow(PtflowError);
  });
});

describe('fetchRecords', () => {
  it('returns the record at each position (plain: windows around each; compressed: one scan)', async () => {
    const docs = Array.from({ length: 3000 }, (_, i) => `document ${i} ` + 'é'.repeat(i % 97) + (i % 500 === 0 ? 'L'.repeat(40_000) : ''));
    const content = docs.map((t) => JSON.stringify({ text: t })).join('\n');
    const plain = write('f.jsonl', content);
    const gz = write('f.jsonl.gz', zlib.gzipSync(content));
    const ref = { file: plain, format: 'jsonl' as const, textColumn: 'text' };
    const recs = await all(ref);
    const pick = [2999, 0, 500, 1500, 1501, 7, 7, 2000];
    for (const file of [plain, gz]) {
      const io = { bytes: 0 };
      const got = await fetchRecords({ ...ref, file }, pick.map((i) => recs[i]), io);
      for (const i of pick) expect(got.get(recs[i].pos)).toBe(docs[i]);
      // plain: the records' bytes, plus the gaps (< 8 KiB) between records read together — not the whole file
      if (file === plain) expect(io.bytes).toBeLessThan([...new Set(pick)].reduce((a, i) => a + recs[i].next - recs[i].pos + (8 << 10), 0));
    }
    const txt = write('t.txt', 'a\r\nbb\rccc\n');
    expect([...(await fetchRecords({ file: txt, format: 'txt', textColumn: 'text' }, [{ pos: 6, next: 10 }, { pos: 0, next: 3 }, { pos: 3, next: 6 }], { bytes: 0 })).entries()].sort()).toEqual([
      [0, 'a'], [3, 'bb'], [6, 'ccc'],
    ]);
  });

  it('an extent that is no record is an error naming the file', async () => {
    const file = write('g.jsonl', '{"text":"a"}\n\n{"text":"b"}\n');
    const ref = { file, format: 'jsonl' as const, textColumn: 'text' };
    await expect(fetchRecords(ref, [{ pos: 13, next: 14 }], { bytes: 0 })).rejects.toThrow(/g\.jsonl: no record at byte 13/);
    await expect(fetchRecords(ref, [{ pos: 0, next: 20 }], { bytes: 0 })).rejects.toThrow(/g\.jsonl: no record at byte 0/);
    await expect(fetchRecords(ref, [{ pos: 14, next: 99 }], { bytes: 0 })).rejects.toThrow(/g\.jsonl: no record at bytes 14\.\.99/);
  });
});
