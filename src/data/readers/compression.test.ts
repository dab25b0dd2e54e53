import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PtflowError } from '../../errors';
import { compressionOf, openChunks, stripCompression } from './compression';
import { collectDocs, readDataset } from './index';
import { retainedBytes } from '../../../test/retained-memory';
import { zstdStoredFrame } from './testing/zstd-frame';
import type { DatasetFormat } from '../registry';

let dir: string;
const write = (name: string, content: string | Uint8Array): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-compression-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function bytesOf(file: string, chunkBytes?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of openChunks(file, chunkBytes)) parts.push(b);
  return Buffer.concat(parts);
}
async function errorOf(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
const texts = async (format: DatasetFormat, file: string, chunkBytes?: number): Promise<string[]> =>
  (await collectDocs({ files: [file], format, textColumn: 'text' }, undefined, { chunkBytes })).map((d) => d.text);

/** The lines of fixtures/docs-3000.jsonl.zst, by the formula in fixtures/README.md. */
function fixtureLines(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 3000; i++) out.push(`line ${i}: ${'abc'.repeat(i % 7)} ünïcödé ${(i * 7919) % 1000}`);
  return out;
}

describe('compression suffixes', () => {
  it.each([
    ['a/b.jsonl', undefined, 'a/b.jsonl'],
    ['a/b.jsonl.gz', 'gzip', 'a/b.jsonl'],
    ['B.TXT.GZIP', 'gzip', 'B.TXT'],
    ['x.parquet.zst', 'zstd', 'x.parquet'],
    ['x.arrow.ZSTD', 'zstd', 'x.arrow'],
    ['x.gz.jsonl', undefined, 'x.gz.jsonl'],
  ])('%s', (name, kind, base) => {
    expect(compressionOf(name)).toBe(kind);
    expect(stripCompression(name)).toBe(base);
  });
});

describe('openChunks', () => {
  // 300 KiB of mixed bytes: spans several zstd blocks (128 KiB) and many read chunks.
  const data = Buffer.alloc(300 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 27;
  data.fill(7, 120_000, 270_000); // covers the whole second 128 KiB block: an RLE block

  it('gives the same bytes for plain, gzip, zstd (raw and RLE blocks) at every chunk size', async () => {
    const plain = write('d.bin', data);
    const gz = write('d.bin.gz', zlib.gzipSync(data));
    const zst = write('d.bin.zst', zstdStoredFrame(data));
    const rle = write('r.bin.zst', zstdStoredFrame(data, { rle: true }));
    expect(fs.statSync(rle).size).toBeLessThan(data.length - 100_000); // the RLE block is used
    for (const chunk of [16, 1000, 65536, 1 << 20]) {
      for (const f of [plain, gz, zst, rle]) expect((await bytesOf(f, chunk)).equals(data)).toBe(true);
    }
  });

  it('reads concatenated gzip members and zstd frames, skipping a skippable frame', async () => {
    const a = Buffer.from('first part\n');
    const b = Buffer.from('second part\n');
    const gz = write('m.txt.gz', Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)]));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]); // magic 0x184D2A50, 3 bytes
    const zst = write('m.txt.zst', Buffer.concat([zstdStoredFrame(a), skippable, zstdStoredFrame(b)]));
    expect(await texts('txt', gz)).toEqual(['first part', 'second part']);
    expect(await texts('txt', zst)).toEqual(['first part', 'second part']);
  });

  it('decodes a real zstd-compressed file (zstd -19, with checksum)', async () => {
    const fixture = path.join(__dirname, 'fixtures', 'docs-3000.jsonl.zst');
    expect(await texts('jsonl', fixture)).toEqual(fixtureLines());
    expect(await texts('jsonl', fixture, 100)).toEqual(fixtureLines());
  });
});

describe('text formats through compression', () => {
  const docs = ['héllo, "world"', 'two\nlines', '', 'last, with comma'];
  const sources: Record<string, { name: string; content: string; expected: string[] }> = {
    jsonl: { name: 'a.jsonl', content: docs.map((t) => JSON.stringify({ text: t, id: 1 })).join('\n') + '\n', expected: docs },
    json: { name: 'a.json', content: JSON.stringify(docs.map((t) => ({ text: t })), null, 1), expected: docs },
    csv: {
      name: 'a.csv',
      content: 'id,text\n' + docs.map((t, i) => `${i},"${t.replace(/"/g, '""')}"`).join('\n') + '\n',
      expected: docs,
    },
    txt: { name: 'a.txt', content: 'one\r\ntwo\n\nthree', expected: ['one', 'two', '', 'three'] },
  };
  const compress: Record<string, (b: Buffer) => Uint8Array> = {
    gz: (b) => zlib.gzipSync(b),
    zst: (b) => zstdStoredFrame(b),
  };
  for (const [format, src] of Object.entries(sources)) {
    for (const [ext, fn] of Object.entries(compress)) {
      it(`${format}.${ext}`, async () => {
        const p = write(`${src.name}.${ext}`, fn(Buffer.from(src.content)));
        for (const chunk of [16, 4096]) expect(await texts(format as DatasetFormat, p, chunk)).toEqual(src.expected);
      });
    }
  }

  it('byte offsets count decompressed bytes', async () => {
    const content = '{"text":"a"}\n{"text":"bb"}\n';
    const p = write('o.jsonl.gz', zlib.gzipSync(content));
    const docs = await collectDocs({ files: [p], format: 'jsonl', textColumn: 'text' });
    expect(docs.map((d) => d.loc)).toEqual([
      { file: p, line: 1, row: 0, byte: 0 },
      { file: p, line: 2, row: 1, byte: 13 },
    ]);
  });
});

describe('bad compressed input', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `document ${i} ${'x'.repeat(i % 50)}` })).join('\n') + '\n';

  it('a truncated .gz is a PtflowError naming the file, after the documents before the cut', async () => {
    const gz = zlib.gzipSync(lines);
    const p = write('t.jsonl.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    let read = 0;
    const err = await errorOf(async () => {
      for await (const _d of readDataset({ files: [p], format: 'jsonl', textColumn: 'text' }, { chunkBytes: 4096 })) read++;
    });
    expect(err).toBeInstanceOf(PtflowError);
    expect(err.message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt or truncated gzip data after \\d+ decompressed bytes \\(unexpected end of file\\)`));
    expect(read).toBeGreaterThan(1000);
    expect(read).toBeLessThan(20_000);
  });

  it('a truncated .zst (real and stored frames) is a PtflowError naming the file', async () => {
    const real = fs.readFileSync(path.join(__dirname, 'fixtures', 'docs-3000.jsonl.zst'));
    const stored = zstdStoredFrame(Buffer.from(lines));
    for (const [name, bytes] of [
      ['r.jsonl.zst', real.subarray(0, real.length - 500)],
      ['s.jsonl.zst', stored.subarray(0, stored.length - 10)],
      ['h.jsonl.zst', stored.subarray(0, 5)], // inside the frame header
    ] as const) {
      const p = write(name, bytes);
      const err = await errorOf(() => texts('jsonl', p, 4096));
      expect(err).toBeInstanceOf(PtflowError);
      expect(err.message).toContain(`${p}: corrupt or truncated zstd data after`);
    }
  });

  it.each([
    ['not gzip data', 'n.txt.gz', Buffer.from('plain text, not gzip\n'), /n\.txt\.gz: corrupt or truncated gzip data after 0 decompressed bytes \(incorrect header check\)/],
    ['gzip with a bad CRC', 'c.txt.gz', (() => { const g = zlib.gzipSync('hello\n'); g[g.length - 6] ^= 0xff; return g; })(), /c\.txt\.gz: corrupt or truncated gzip data .*\(incorrect data check\)/],
    ['not zstd data', 'n.txt.zst', Buffer.from('plain text, not zstd\n'), /n\.txt\.zst: corrupt or truncated zstd data after 0 decompressed bytes \(invalid zstd data\)/],
    ['an empty .gz', 'e.txt.gz', Buffer.alloc(0), /e\.txt\.gz: empty file \(not gzip data\)/],
    ['an empty .zst', 'e.txt.zst', Buffer.alloc(0), /e\.txt\.zst: empty file \(not zstd data\)/],
  ])('%s', async (_label, name, bytes, message) => {
    const p = write(name, bytes);
    const err = await errorOf(() => texts('txt', p));
    expect(err).toBeInstanceOf(PtflowError);
    expect(err.message).toMatch(message);
  });

  it('a corrupt csv.gz / json.gz is a PtflowError too (errors travel through the stream pipeline)', async () => {
    const csv = zlib.gzipSync('id,text\n' + Array.from({ length: 5000 }, (_, i) => `${i},doc ${i}`).join('\n'));
    const json = zlib.gzipSync(JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ text: `doc ${i}` }))));
    for (const [format, name, gz] of [['csv', 'c.csv.gz', csv], ['json', 'j.json.gz', json]] as const) {
      const p = write(name, gz.subarray(0, gz.length - 40));
      const err = await errorOf(() => texts(format, p, 1024));
      expect(err).toBeInstanceOf(PtflowError);
      expect(err.message).toContain(`${p}: corrupt or truncated gzip data`);
    }
  });

  it('stopping early closes the file (no descriptor leak), for every compression', async () => {
    const files = [
      write('p.jsonl', lines),
      write('p.jsonl.gz', zlib.gzipSync(lines)),
      write('p.jsonl.zst', zstdStoredFrame(Buffer.from(lines))),
      write('p.csv.gz', zlib.gzipSync('text\n' + 'a\n'.repeat(50_000))),
    ];
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let k = 0; k < 5; k++) {
      for (const f of files) {
        const format: DatasetFormat = f.includes('.csv') ? 'csv' : 'jsonl';
        expect(await collectDocs({ files: [f], format, textColumn: 'text' }, 3, { chunkBytes: 1024 })).toHaveLength(3);
      }
    }
    // Descriptors close asynchronously: wait (up to 10 s, however loaded the machine) for them to go.
    // A leak keeps one open per early stop: 20 here.
    for (const until = Date.now() + 10_000; fds() > before + 1 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    expect(fds()).toBeLessThanOrEqual(before + 1);
  });
});

describe('bounded memory', () => {
  it('streams a 50 MB .jsonl.zst retaining a bounded amount of memory', async () => {
    // ~50 MB of JSON lines, written as stored zstd blocks (fast to make; the decoder, the line
    // splitter and the JSON reader see all 50 MB).
    const LOREM = 'lorem ipsum dolor sit amet '.repeat(4);
    const line = (i: number): string => JSON.stringify({ text: `document ${i} ` + LOREM, id: i }) + '\n';
    const perLine = Buffer.byteLength(line(0));
    const count = Math.ceil(50e6 / perLine);
    const p = path.join(dir, 'big.jsonl.zst');
    const fd = fs.openSync(p, 'w');
    fs.writeSync(fd, Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38));
    // 128 KiB raw blocks straight from a generator, so the test itself holds no 50 MB buffer
    let pending = '';
    let i = 0;
    const block = 128 << 10;
    while (i < count || pending.length > 0) {
      while (pending.length < block && i < count) pending += line(i++);
      const body = Buffer.from(pending.slice(0, block)); // ASCII: one byte per char
      pending = pending.slice(block);
      const last = i >= count && pending.length === 0;
      const v = (last ? 1 : 0) | (body.length << 3);
      fs.writeSync(fd, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff));
      fs.writeSync(fd, body);
    }
    fs.closeSync(fd);
    // What the reader keeps alive after a forced collection, not RSS (test/retained-memory.ts).
    const base = retainedBytes();
    let peak = base;
    let n = 0;
    let chars = 0;
    for await (const d of readDataset({ files: [p], format: 'jsonl', textColumn: 'text' })) {
      if (d.text !== `document ${n} ` + LOREM) throw new Error(`doc ${n}: wrong text ${d.text.slice(0, 40)}`);
      chars += d.text.length;
      if (++n % 50_000 === 0) peak = Math.max(peak, retainedBytes());
    }
    expect(n).toBe(count);
    expect(chars).toBeGreaterThan(40e6);
    // Holding the decoded text would retain > 40 MB; the reader keeps a few blocks.
    expect(peak - base).toBeLessThan(16 * 2 ** 20);
  });
});
