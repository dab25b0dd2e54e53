import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PtflowError } from '../../errors';
import { collectDocs, type BadRecord } from '../readers';
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

  it('errors name file:line when read from the start, else the byte of the record', async () => {
    const file = write('bad.jsonl', '{"text":"ok"}\n{"text": nope}\n');
    await expect(all({ file, format: 'jsonl', textColumn: 'text' })).rejects.toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')}:2: malformed JSON`));
    await expect(all({ file, format: 'jsonl', textColumn: 'text' }, 14)).rejects.toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')} \\(record at byte 14\\): malformed JSON`));
    const miss = write('miss.jsonl', '{"body":"x"}\n');
    await expect(all({ file: miss, format: 'jsonl', textColumn: 'text' })).rejects.toThrow(/miss\.jsonl:1: missing text column "text"/);
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

describe('bad records (on_bad_record: skip)', () => {
  const GOOD = ['one', 'two', 'three', 'four'];
  // line 2 malformed, 4 blank, 5 invalid UTF-8, 7 missing column
  const parts: (string | Buffer)[] = [
    JSON.stringify({ text: 'one' }), '{"text": nope}', JSON.stringify({ text: 'two' }), '',
    Buffer.from([0x7b, 0xff, 0x7d]), JSON.stringify({ text: 'three' }), JSON.stringify({ body: 'x' }), JSON.stringify({ text: 'four' }),
  ];
  const content = Buffer.concat(parts.flatMap((x) => [Buffer.from(x), Buffer.from('\n')]));
  const starts: number[] = []; // of each line, and the file size last
  for (let i = 0, at = 0; i <= parts.length; i++) {
    starts.push(at);
    if (i < parts.length) at += Buffer.byteLength(parts[i]) + 1;
  }

  for (const comp of ['', '.gz']) {
    it(`jsonl${comp}: good records keep the positions they have without the bad ones; each bad one reported once with line and byte`, async () => {
      const file = write(`s.jsonl${comp}`, comp ? zlib.gzipSync(content) : content);
      const ref = { file, format: 'jsonl' as const, textColumn: 'text' };
      for (const chunk of [16, 1 << 20]) {
        const bad: BadRecord[] = [];
        const recs: Rec[] = [];
        for await (const r of recordsFrom(ref, 0, { bytes: 0 }, chunk, (p) => bad.push(p))) recs.push(r);
        expect(recs.map((r) => r.text)).toEqual(GOOD);
        expect(recs.map((r) => [r.pos, r.next])).toEqual([0, 2, 5, 7].map((i) => [starts[i], starts[i + 1]]));
        expect(bad.map((b) => [b.file, b.line, b.byte])).toEqual([[file, 2, starts[1]], [file, 5, starts[4]], [file, 7, starts[6]]]);
        expect(bad.map((b) => b.reason.split(':')[0])).toEqual(['malformed JSON', 'invalid UTF-8', 'missing text column "text" (keys']);
        // resuming at any good record's position (or any `next`) gives exactly the rest; bad lines after it are reported by byte
        for (const [k, r] of recs.entries()) {
          const later: BadRecord[] = [];
          const rest: Rec[] = [];
          for await (const x of recordsFrom(ref, r.next, { bytes: 0 }, chunk, (p) => later.push(p))) rest.push(x);
          expect(rest).toEqual(recs.slice(k + 1));
          expect(later.map((b) => [b.line, b.byte])).toEqual(bad.filter((b) => (b.byte as number) > r.pos).map((b) => [undefined, b.byte]));
        }
      }
    });
  }

  it('a truncated .gz: the records before the break, one report, then the file ends', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `doc ${i}` }));
    const gz = zlib.gzipSync(lines.join('\n') + '\n');
    const file = write('cut.jsonl.gz', gz.subarray(0, gz.length >> 1));
    const bad: BadRecord[] = [];
    const got: Rec[] = [];
    for await (const r of recordsFrom({ file, format: 'jsonl', textColumn: 'text' }, 0, { bytes: 0 }, 4096, (p) => bad.push(p))) got.push(r);
    expect(bad).toHaveLength(1);
    expect(bad[0].reason).toMatch(new RegExp(`^corrupt or truncated gzip data after ${bad[0].byte} decompressed bytes`));
    expect(got.length).toBeGreaterThan(100);
    expect(got.map((r) => r.text)).toEqual(lines.slice(0, got.length).map((_, i) => `doc ${i}`));
    expect(got[got.length - 1].next).toBeLessThanOrEqual(bad[0].byte as number);
    expect(bad[0].line).toBe(got.length + 1);
  });

  it('record-indexed files: positions count the good records; fetchRecords skips bad ones silently', async () => {
    const file = write('a.csv', 'id,text\n1,a\n2,b,extra\n3,c\n4\n5,d\n');
    const ref = { file, format: 'csv' as const, textColumn: 'text' };
    const bad: BadRecord[] = [];
    const recs: Rec[] = [];
    for await (const r of recordsFrom(ref, 0, { bytes: 0 }, 16, (p) => bad.push(p))) recs.push(r);
    expect(recs.map((r) => [r.text, r.pos])).toEqual([['a', 0], ['c', 1], ['d', 2]]);
    expect(bad.map((b) => b.line)).toEqual([3, 5]);
    await expect(fetchRecords(ref, [recs[2]], { bytes: 0 })).rejects.toThrow(/a\.csv:3: malformed CSV/);
    expect([...(await fetchRecords(ref, [recs[2], recs[0]], { bytes: 0 }, 16, true)).entries()]).toEqual([[0, 'a'], [2, 'd']]);
  });
});
