/**
 * A pool whose threads read (file by file, or byte ranges of one plain file) writes byte-identical
 * caches to one thread reading and tokenizing inline: sharded and single-file corpora, max_samples,
 * the val_size shuffle, and on_bad_record skip / error (the same bad records, once each, with their
 * lines; the same first error). Also the pieces: line cuts and line numbers counted from the file's start.
 * (Worker pools load compiled files: run `npm run build` first.)
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { DatasetSpec } from '../data/registry';
import { collectDocs, type BadRecord } from '../data/readers';
import { loadTokenizer } from '../data/tokenizer';
import { tinyModelDir, tmpDir } from '../../test/helpers';
import type { PartManifest } from '../../schemas/token-cache';
import { readPart } from './arrow-part';
import { buildPart, type BuildInput } from './build';
import { LineCounter } from './unit-read';
import { lineCuts, unitsOf } from './units';

const root = tmpDir('ptflow-units-');
const model = tinyModelDir(root);
const chapters = readFileSync(path.join(__dirname, '../../examples/data/kjv_demo.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => (JSON.parse(l) as { text: string }).text.slice(0, 300));
const jsonl = (texts: readonly string[]): string => texts.map((text) => JSON.stringify({ text }) + '\n').join('');

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

interface Built {
  dir: string;
  manifest: PartManifest;
  files: Map<string, Buffer>;
  bad: BadRecord[];
}

async function build(name: string, workers: number, train: DatasetSpec[], extra: Partial<BuildInput> = {}): Promise<Built> {
  const dir = path.join(root, `cache-${name}-w${workers}`);
  rmSync(dir, { recursive: true, force: true });
  const bad: BadRecord[] = [];
  const manifest = await buildPart({
    dir, tokenizerDir: model, workers, train, eval: [], fingerprint: 'f', out: quiet, partition: { rank: 0, worldSize: 1, source: 'flags' } as BuildInput['partition'],
    preprocessing: { format_version: 1, tokenizer: 't', datasets: [], max_samples: null, mix_strategy: 'concat', interleave_probs: null, val_size: 0, seed: 1, on_bad_record: 'error' },
    maxSamples: null, mixStrategy: 'concat', interleaveProbs: null, valSize: 0, seed: 7, doTrain: true, docsPerBatch: 3, minRangeBytes: 300,
    onBadRecord: (p) => void bad.push(p), ...extra,
  });
  const files = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else files.set(path.relative(dir, path.join(d, e.name)), readFileSync(path.join(d, e.name)));
    }
  };
  walk(dir);
  return { dir, manifest, files, bad };
}

async function docsOf(b: Built, split = 'train'): Promise<number[][]> {
  const out: number[][] = [];
  const part = b.manifest.splits[split]!;
  for await (const batch of readPart(path.join(b.dir, part.file), part)) for (const d of batch) out.push(Array.from(d));
  return out;
}

async function sameCaches(name: string, train: DatasetSpec[], extra: Partial<BuildInput> = {}): Promise<{ one: Built; two: Built }> {
  const one = await build(name, 1, train, extra);
  const two = await build(name, 2, train, extra);
  expect([...two.files.keys()].sort()).toEqual([...one.files.keys()].sort());
  for (const [f, bytes] of one.files) expect(two.files.get(f)!.equals(bytes)).toBe(true);
  expect(two.bad).toEqual(one.bad);
  return { one, two };
}

// A sharded corpus: plain and gzip-compressed shards.
const shardDir = path.join(root, 'shards');
const shards: string[] = [];
{
  require('node:fs').mkdirSync(shardDir, { recursive: true });
  for (let s = 0; s < 5; s++) {
    const body = jsonl(chapters.slice(s * 9, s * 9 + 9));
    const file = path.join(shardDir, `part-${s}.jsonl${s % 2 ? '.gz' : ''}`);
    writeFileSync(file, s % 2 ? gzipSync(body) : body);
    shards.push(file);
  }
}
const sharded: DatasetSpec = { name: 'sharded', files: shards, format: 'jsonl', textColumn: 'text' };

// One plain file, with a BOM, CRLF endings and blank lines.
const single = path.join(root, 'single.jsonl');
writeFileSync(single, '\ufeff' + jsonl(chapters.slice(0, 40)).replace(/\n/g, (_m, i: number) => (i % 3 ? '\n' : '\r\n\n')));
const singleSpec: DatasetSpec = { name: 'single', files: [single], format: 'jsonl', textColumn: 'text' };

// Plain text: "\n", "\r\n" and "\r" endings, empty lines.
const txt = path.join(root, 'single.txt');
writeFileSync(txt, chapters.slice(0, 30).map((t, i) => t + ['\n', '\r\n', '\r', '\n\n'][i % 4]).join(''));
const txtSpec: DatasetSpec = { name: 'txt', files: [txt], format: 'txt', textColumn: 'text' };

describe('prepare with a reading pool', () => {
  it('splits as documented: a unit per shard, line-start ranges of a plain file, none for one compressed file', async () => {
    expect((await unitsOf(sharded, 2))!.map((u) => u.file)).toEqual(shards);
    const ranges = (await unitsOf(singleSpec, 2, 300))!;
    expect(ranges.length).toBe(8);
    const bytes = readFileSync(single);
    expect(ranges[0].range!.start).toBe(0);
    expect(ranges[ranges.length - 1].range!.end).toBe(bytes.length);
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i].range!.start).toBe(ranges[i - 1].range!.end);
      expect(bytes[ranges[i].range!.start - 1]).toBe(0x0a);
    }
    expect(await unitsOf({ ...sharded, files: [shards[1]] }, 2, 1)).toBeNull();
    expect(await unitsOf(singleSpec, 2)).toBeNull(); // smaller than two 1 MiB ranges
  });

  it('line cuts fall just after the first "\\n" at or after k·size/n − 1', async () => {
    const f = path.join(root, 'cuts.txt');
    writeFileSync(f, 'aaaa\nbb\ncccccccc\nd\n'); // "\n" at 4, 7, 16, 18; size 19
    expect(await lineCuts(f, 19, 2)).toEqual([17]); // from byte 8 → "\n" at 16
    expect(await lineCuts(f, 19, 4)).toEqual([5, 17]); // from 3 → 5; from 8 → 17; from 13 → 17 (dropped)
  });

  it('counts lines as the readers do', async () => {
    const f = path.join(root, 'lines.txt');
    writeFileSync(f, 'a\r\nb\rc\nd\r\re');
    const u = new LineCounter(f, 'universal');
    expect([await u.lineAt(0), await u.lineAt(3), await u.lineAt(5), await u.lineAt(7), await u.lineAt(9), await u.lineAt(10)]).toEqual([1, 2, 3, 4, 5, 6]);
    const lf = new LineCounter(f, 'lf');
    expect([await lf.lineAt(3), await lf.lineAt(7)]).toEqual([2, 3]);
  });

  it('a sharded corpus: byte-identical caches with 1 and 2 workers, the documents train reads', async () => {
    const { two } = await sameCaches('sharded', [sharded]);
    const tok = loadTokenizer(model);
    const expected = (await collectDocs(sharded)).map((d) => Array.from(tok.encodeDoc(d.text)));
    expect(expected.length).toBe(45);
    expect(await docsOf(two)).toEqual(expected);
  });

  it('a single plain file read in ranges (jsonl with BOM / CRLF / blank lines, txt with mixed endings): byte-identical', async () => {
    const { two } = await sameCaches('single', [singleSpec]);
    expect((await docsOf(two)).length).toBe(40);
    const t = await sameCaches('txt', [txtSpec]);
    expect((await docsOf(t.two)).length).toBe((await collectDocs(txtSpec)).length);
  });

  it('max_samples, two datasets and the val_size shuffle: byte-identical', async () => {
    for (const maxSamples of [7, 20, 100]) {
      await sameCaches(`max${maxSamples}`, [sharded, singleSpec], { maxSamples, valSize: 0.2 });
    }
    const { two } = await sameCaches('max13', [singleSpec], { maxSamples: 13 });
    expect((await docsOf(two)).length).toBe(13);
  });

  describe('bad records', () => {
    // bad lines in several ranges: malformed JSON, invalid UTF-8, no text column
    const good = jsonl(chapters.slice(0, 30)).split('\n');
    const withBad = [...good.slice(0, 3), '{"text": oops', ...good.slice(3, 12), '{"other": "x"}', ...good.slice(12, 25)];
    const badFile = path.join(root, 'bad.jsonl');
    writeFileSync(badFile, Buffer.concat([Buffer.from(withBad.join('\n')), Buffer.from('\n{"text": "\xff"}\n', 'latin1'), Buffer.from(good.slice(25).join('\n'))]));
    const spec: DatasetSpec = { name: 'bad', files: [badFile], format: 'jsonl', textColumn: 'text' };
    const shardsBad: DatasetSpec = { name: 'sb', files: [shards[0], badFile, shards[1]], format: 'jsonl', textColumn: 'text' };

    it('skip: the same bad records, once each, with their lines (single file and shards)', async () => {
      const { two } = await sameCaches('skip', [spec]);
      expect(two.bad.map((b) => b.line)).toEqual([4, 14, 28]);
      expect(two.bad.map((b) => b.reason.split(':')[0])).toEqual(['malformed JSON', 'missing text column "text" (keys', 'invalid UTF-8']);
      expect((await docsOf(two)).length).toBe(30);
      await sameCaches('skip-shards', [shardsBad]);
    });

    it('skip with max_samples: only the bad records reading would reach', async () => {
      const { two } = await sameCaches('skip-max', [spec], { maxSamples: 13 });
      expect(two.bad.map((b) => b.line)).toEqual([4, 14]); // 13 documents end at line 15
      const three = await sameCaches('skip-max3', [spec], { maxSamples: 3 });
      expect(three.two.bad).toEqual([]); // the third document is line 3: the bad line 4 is never read
    });

    it('error: the same first error, naming file:line', async () => {
      const message = async (workers: number, s: DatasetSpec): Promise<string> => {
        try {
          await build('err', workers, [s], { onBadRecord: undefined });
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      };
      expect(await message(2, spec)).toBe(await message(1, spec));
      expect(await message(2, spec)).toMatch(new RegExp(`^${badFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: malformed JSON`));
      expect(await message(2, shardsBad)).toBe(await message(1, shardsBad));
    });
  });
});
