import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { PtflowError } from '../../errors';
import { resolveDatasets } from '../registry';
import { expandGlob, isGlobPattern, savedDatasetFiles } from './glob';
import { collectDocs, readDataset } from './index';
import { zstdStoredFrame } from './testing/zstd-frame';

let dir: string;
const write = (rel: string, content: string | Uint8Array = ''): string => {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
};
const info = (obj: unknown) => write('dataset_info.json', JSON.stringify(obj));
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-glob-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function resolveError(name: string): Error {
  try {
    resolveDatasets(dir, name);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('isGlobPattern', () => {
  it.each([
    ['data/shard-*.jsonl.zst', true],
    ['data/**/x.parquet', true],
    ['part-?.csv', true],
    ['part-[0-9].csv', true],
    ['part-{a,b}.csv', true],
    ['data/train.jsonl', false],
    ['data', false],
  ])('%s → %s', (p, expected) => expect(isGlobPattern(p)).toBe(expected));
});

describe('expandGlob', () => {
  it('matches files only (no directories, no hidden files), sorted by path, joined to the base', () => {
    for (const n of ['s-002.jsonl', 's-010.jsonl', 's-001.jsonl.gz', '.s-000.jsonl', 'other.txt', 'sub/s-003.jsonl']) write(`d/${n}`);
    fs.mkdirSync(path.join(dir, 'd', 's-dir.jsonl'));
    expect(expandGlob(dir, 'd/s-*')).toEqual(['d/s-001.jsonl.gz', 'd/s-002.jsonl', 'd/s-010.jsonl'].map((n) => path.join(dir, n)));
    expect(expandGlob(dir, 'd/**/s-00[23].jsonl')).toEqual(['d/s-002.jsonl', 'd/sub/s-003.jsonl'].map((n) => path.join(dir, n)));
    expect(expandGlob(path.join(dir, 'd'), '../d/s-0{01,10}*')).toEqual([path.join(dir, 'd/s-001.jsonl.gz'), path.join(dir, 'd/s-010.jsonl')]);
    expect(expandGlob(dir, 'nothing-*.jsonl')).toEqual([]);
  });
});

describe('registry: globs, compressed suffixes, saved datasets', () => {
  it('resolves a glob over compressed shards to sorted files of one format', () => {
    write('data/shard-00001.jsonl.zst');
    write('data/shard-00000.jsonl.zst');
    write('data/shard-00002.jsonl.gz');
    write('data/readme.md');
    info({ web: { file_name: 'data/shard-*.jsonl.*' } });
    expect(resolveDatasets(dir, 'web')).toEqual([
      {
        name: 'web',
        files: ['shard-00000.jsonl.zst', 'shard-00001.jsonl.zst', 'shard-00002.jsonl.gz'].map((n) => path.join(dir, 'data', n)),
        format: 'jsonl',
        textColumn: 'text',
      },
    ]);
  });

  it('detects the format under .gz / .zst suffixes, for a file and a directory', () => {
    write('one.parquet.zst');
    write('shards/b.arrow.gz');
    write('shards/a.arrow');
    info({ one: { file_name: 'one.parquet.zst' }, sh: { file_name: 'shards' } });
    const [one, sh] = resolveDatasets(dir, 'one,sh');
    expect(one.format).toBe('parquet');
    expect(sh).toMatchObject({ format: 'arrow', files: [path.join(dir, 'shards/a.arrow'), path.join(dir, 'shards/b.arrow.gz')] });
  });

  it('a save_to_disk directory: the .arrow shards in state.json order, its json files ignored', () => {
    write('saved/data-00001-of-00002.arrow');
    write('saved/data-00000-of-00002.arrow');
    write('saved/dataset_info.json', '{"features": {}}');
    write(
      'saved/state.json',
      JSON.stringify({ _data_files: [{ filename: 'data-00000-of-00002.arrow' }, { filename: 'data-00001-of-00002.arrow' }], _fingerprint: 'f' }),
    );
    info({ saved: { file_name: 'saved' } });
    expect(resolveDatasets(dir, 'saved')[0]).toMatchObject({
      format: 'arrow',
      files: [path.join(dir, 'saved/data-00000-of-00002.arrow'), path.join(dir, 'saved/data-00001-of-00002.arrow')],
    });
    expect(savedDatasetFiles(path.join(dir))).toBeUndefined(); // no state.json here
  });

  const errorCases: Array<[string, () => void, RegExp]> = [
    ['a glob matching nothing', () => info({ nope: { file_name: 'data/none-*.jsonl' } }), /No files match .*data\/none-\*\.jsonl/],
    ['a glob mixing formats', () => (write('m/a.csv.gz'), write('m/b.txt'), info({ nope: { file_name: 'm/*' } })), /Files matching .*m\/\* mixes file types \(csv, txt\)/],
    ['a compressed unknown type', () => (write('x.xml.gz'), info({ nope: { file_name: 'x.xml.gz' } })), /x\.xml\.gz: unsupported file type; allowed file types: .*\(each optionally compressed: \.gz, \.zst\)/],
    ['state.json naming a missing shard', () => (write('s/state.json', JSON.stringify({ _data_files: [{ filename: 'data-0.arrow' }] })), info({ nope: { file_name: 's' } })), /s\/state\.json: lists data file "data-0\.arrow", which is not a file/],
    ['invalid state.json', () => (write('s/state.json', '{'), info({ nope: { file_name: 's' } })), /s\/state\.json: invalid JSON/],
  ];
  it.each(errorCases)('error: %s', (_label, setup, message) => {
    setup();
    const err = resolveError('nope');
    expect(err).toBeInstanceOf(PtflowError);
    expect(err.message).toMatch(message);
  });
});

describe('reading what a glob resolves to', () => {
  it('reads 300 compressed shards in order, lazily', async () => {
    const expected: string[] = [];
    for (let s = 0; s < 300; s++) {
      const lines = [0, 1].map((k) => `shard ${s} doc ${k}`);
      expected.push(...lines);
      const body = Buffer.from(lines.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
      const name = `shards/part-${String(s).padStart(5, '0')}.jsonl`;
      if (s % 3 === 0) write(name, body);
      else if (s % 3 === 1) write(`${name}.gz`, zlib.gzipSync(body));
      else write(`${name}.zst`, zstdStoredFrame(body));
    }
    info({ web: { file_name: 'shards/part-*.jsonl*' } });
    const [spec] = resolveDatasets(dir, 'web');
    expect(spec.files).toHaveLength(300);
    const got: string[] = [];
    for await (const d of readDataset(spec)) got.push(d.text);
    expect(got).toEqual(expected);
    expect((await collectDocs(spec, 3)).map((d) => d.text)).toEqual(expected.slice(0, 3));
  });

  it('reads a save_to_disk directory of arrow stream shards', async () => {
    const shard = (from: number) => tableToIPC(tableFromArrays({ text: [`t${from}`, `t${from + 1}`] }), 'stream');
    write('saved/data-00000-of-00002.arrow', shard(0));
    write('saved/data-00001-of-00002.arrow', shard(2));
    write('saved/dataset_info.json', '{}');
    write('saved/state.json', JSON.stringify({ _data_files: [{ filename: 'data-00000-of-00002.arrow' }, { filename: 'data-00001-of-00002.arrow' }] }));
    info({ saved: { file_name: 'saved' } });
    const docs = await collectDocs(resolveDatasets(dir, 'saved')[0]);
    expect(docs.map((d) => d.text)).toEqual(['t0', 't1', 't2', 't3']);
  });
});
