import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectDocs, readDataset, readerFor } from './index';
import { readLines } from './lines';
import type { DatasetFormat } from '../registry';
import type { Doc } from './types';

let dir: string;
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-readers-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function read(format: DatasetFormat, p: string, chunkBytes?: number, textColumn = 'text'): Promise<Doc[]> {
  return collectDocs({ files: [p], format, textColumn }, undefined, { chunkBytes });
}
async function errorOf(format: DatasetFormat, p: string, textColumn = 'text'): Promise<string> {
  try {
    await read(format, p, 16, textColumn);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('readLines', () => {
  it('splits on \\n, \\r\\n and \\r in universal mode at every chunk size, with byte offsets', async () => {
    const text = 'ab\r\ncd\re\n\nfé\r';
    const p = file('u.txt', text);
    const bytes = Buffer.from(text);
    for (const chunk of [16, 17, 18, 19, 20, 64]) {
      const lines = [];
      for await (const l of readLines(p, 'universal', chunk)) lines.push(l);
      expect(lines.map((l) => l.text)).toEqual(['ab', 'cd', 'e', '', 'fé']);
      expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
      // byte offsets point at each line's first byte
      expect(lines.map((l) => bytes.subarray(l.byte, l.byte + Buffer.byteLength(l.text)).toString())).toEqual(lines.map((l) => l.text));
    }
  });

  it('lf mode keeps lone \\r inside a line, drops the \\r of \\r\\n, skips a BOM', async () => {
    const p = file('l.jsonl', '\ufeffa\rb\r\nc');
    const out = [];
    for await (const l of readLines(p, 'lf', 16)) out.push([l.text, l.byte]);
    expect(out).toEqual([
      ['a\rb', 3],
      ['c', 8],
    ]);
  });

  it('names file:line on invalid UTF-8', async () => {
    const p = file('bad.txt', Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    await expect(read('txt', p)).rejects.toThrow(`${p}:2: invalid UTF-8`);
  });
});

describe('txt reader', () => {
  it('one line = one document; empty lines are kept as "" documents (HF text builder)', async () => {
    const p = file('a.txt', 'first line\r\n\nthird\r');
    const docs = await read('txt', p, 16);
    expect(docs.map((d) => d.text)).toEqual(['first line', '', 'third']);
    expect(docs.map((d) => d.loc)).toEqual([
      { file: p, line: 1, row: 0, byte: 0 },
      { file: p, line: 2, row: 1, byte: 12 },
      { file: p, line: 3, row: 2, byte: 13 },
    ]);
  });
});

describe('jsonl reader', () => {
  it('streams records across small chunks, skips blank lines, keeps unicode', async () => {
    const lines = ['{"text":"héllo","id":1}', '', '  ', '{"text":"a \\"quoted\\" line\\nwith newline","id":2}'];
    const p = file('a.jsonl', lines.join('\n') + '\n');
    const docs = await read('jsonl', p, 16);
    expect(docs.map((d) => d.text)).toEqual(['héllo', 'a "quoted" line\nwith newline']);
    expect(docs.map((d) => [d.loc.line, d.loc.row])).toEqual([
      [1, 0],
      [4, 1],
    ]);
  });

  it('uses the configured text column', async () => {
    const p = file('c.jsonl', '{"content":"x"}\n');
    expect((await read('jsonl', p, undefined, 'content'))[0].text).toBe('x');
  });

  it.each([
    ['malformed line', '{"text":"ok"}\n{"text": oops}\n', ':2: malformed JSON'],
    ['missing column', '{"text":"ok"}\n{"body":"x","id":3}\n', ':2: missing text column "text" (keys: body, id'],
    ['non-string text', '{"text":"ok"}\n\n{"text":42}\n', ':3: text column "text" is a number, expected a string'],
    ['null text', '{"text":null}\n', ':1: text column "text" is null'],
    ['not an object', '["text"]\n', ':1: expected a JSON object with a "text" key, got an array'],
  ])('error: %s names file:line', async (_l, content, msg) => {
    const p = file('e.jsonl', content);
    expect(await errorOf('jsonl', p)).toContain(`${p}${msg}`);
  });
});

describe('json reader', () => {
  const records = [
    { text: 'one, with [brackets] and {braces}', meta: { a: [1, 2, { b: '}' }] } },
    { text: 'two "quoted" \\ back\nslash ]' },
    { text: 'ünïcödé' },
  ];
  it('streams a pretty-printed array at every chunk size', async () => {
    const p = file('a.json', '\ufeff' + JSON.stringify(records, null, 2) + '\n');
    for (const chunk of [16, 23, 64, 4096]) {
      const docs = await read('json', p, chunk);
      expect(docs.map((d) => d.text)).toEqual(records.map((r) => r.text));
    }
    const docs = await read('json', p, 16);
    // line of each element's "{" in the pretty-printed text
    const expectedLines = JSON.stringify(records, null, 2)
      .split('\n')
      .map((l, i) => [l, i + 1] as const)
      .filter(([l]) => l === '  {')
      .map(([, n]) => n);
    expect(docs.map((d) => d.loc.line)).toEqual(expectedLines);
  });

  it('reads an empty array and JSON lines in a .json file', async () => {
    expect(await read('json', file('e.json', ' [ ] '))).toEqual([]);
    const p = file('l.json', '{"text":"a"}\n{"text":"b"}\n');
    expect((await read('json', p)).map((d) => d.text)).toEqual(['a', 'b']);
  });

  it.each([
    ['malformed element', '[\n{"text":"a"},\n{"text": nope}\n]', ':3: malformed JSON'],
    ['missing column', '[{"text":"a"},\n {"x":"b"}]', ':2: missing text column "text"'],
    ['truncated file', '[{"text":"a"},\n {"text":"b"', ':2: malformed JSON: unexpected end of file inside the array (element starting at line 2)'],
    ['trailing comma', '[{"text":"a"},\n]', ':2: malformed JSON: trailing comma'],
    ['data after the array', '[{"text":"a"}]\n{"text":"b"}', ':2: malformed JSON: unexpected data after the closing'],
  ])('error: %s names file:line', async (_l, content, msg) => {
    const p = file('e.json', content);
    expect(await errorOf('json', p)).toContain(`${p}${msg}`);
  });
});

describe('csv reader', () => {
  it('parses RFC 4180 quotes, embedded newlines and commas; skips blank lines; BOM header', async () => {
    const p = file('a.csv', '\ufeffid,text\r\n1,"a, ""quoted"" field"\r\n\r\n2,"two\nlines"\r\n3,\r\n4,plain\r\n');
    const docs = await read('csv', p, 16);
    expect(docs.map((d) => d.text)).toEqual(['a, "quoted" field', 'two\nlines', '', 'plain']);
    expect(docs.map((d) => d.loc.line)).toEqual([2, 4, 6, 7]);
    expect(docs.map((d) => d.loc.row)).toEqual([0, 1, 2, 3]);
  });

  it.each([
    ['missing column', 'id,body\n1,x\n', ':1: missing text column "text" (columns: id, body'],
    ['inconsistent columns', 'id,text\n1,x\n2,y,z\n', ':3: malformed CSV'],
    ['bad quote', 'id,text\n1,"x"y\n', ':2: malformed CSV'],
  ])('error: %s names file:line', async (_l, content, msg) => {
    const p = file('e.csv', content);
    expect(await errorOf('csv', p)).toContain(`${p}${msg}`);
  });
});

describe('reader table', () => {
  it('reads several files in order and stops early with a limit', async () => {
    const a = file('a.txt', 'a1\na2\n');
    const b = file('b.txt', 'b1\n');
    const all: string[] = [];
    for await (const d of readDataset({ files: [a, b], format: 'txt', textColumn: 'text' })) all.push(d.text);
    expect(all).toEqual(['a1', 'a2', 'b1']);
    expect((await collectDocs({ files: [a, b], format: 'txt', textColumn: 'text' }, 2)).map((d) => d.text)).toEqual(['a1', 'a2']);
  });

  it("a reader's errors are usage errors (exit 2: bad data is never retried)", async () => {
    const p = file('bad.jsonl', '{"text":"ok"}\n{"text": oops}\n');
    const e = await read('jsonl', p).then(() => null, (err: { exitCode?: number; message: string }) => err);
    expect(e?.message).toMatch(/bad\.jsonl:2: malformed JSON/);
    expect(e?.exitCode).toBe(2);
  });

  it('a format without a reader is a clear error; missing files name the path', async () => {
    expect(() => readerFor('xml' as DatasetFormat, '/x/y.xml')).toThrow('/x/y.xml: reading xml files is not supported yet');
    const missing = path.join(dir, 'missing.jsonl');
    await expect(read('jsonl', missing)).rejects.toThrow(`Cannot open ${missing}`);
    await expect(read('csv', missing)).rejects.toThrow(`Cannot open ${missing}`);
    await expect(read('json', missing)).rejects.toThrow(`Cannot open ${missing}`);
  });
});
