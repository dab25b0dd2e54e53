/**
 * The run's own token cache (map mode without tokenized_path): built once, reused while its
 * fingerprint matches, built again — never trusted — after other settings, a build killed before
 * index.json, a truncated part or a damaged index.
 */
import { existsSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadTrainConfig } from '../config';
import { loadTokenizer } from '../data/tokenizer';
import { tinyDataset, tinyModelDir, tmpDir, writeYaml } from '../../test/helpers';
import { configuredDatasets, expectedPreprocessing } from '../workflow/prepare';
import { readIndex } from './index-file';
import { ensureRunCache, runCacheDir, type RunCacheBuild } from './run-cache';

const sink = (): Writable & { text: string } => {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
};

describe('the run token cache (ensureRunCache)', () => {
  const root = tmpDir('ptflow-run-cache-');
  const model = tinyModelDir(root);
  const data = tinyDataset(root, 12);
  const out = path.join(root, 'out');
  let fingerprintOfTokenizer = '';

  const buildFor = (overrides: Record<string, unknown>): RunCacheBuild => {
    const cfg = writeYaml(path.join(root, 'cfg.yaml'), {
      model_name_or_path: model, stage: 'pt', do_train: true, dataset: 'kjv', dataset_dir: data, cutoff_len: 16,
      val_size: 2, seed: 3, output_dir: out, ...overrides,
    });
    const c = loadTrainConfig(cfg, []).config;
    const { trainSets, evalSets } = configuredDatasets(c);
    const { preprocessing, fingerprint } = expectedPreprocessing(c, trainSets, evalSets, fingerprintOfTokenizer);
    return {
      dir: runCacheDir(out), tokenizer_dir: model, workers: 1, train: trainSets, eval: evalSets, preprocessing, fingerprint,
      max_samples: null, mix_strategy: c.mix_strategy, interleave_probs: null, val_size: c.val_size, seed: c.seed, do_train: true,
      on_bad_record: 'error',
    };
  };
  const trainPart = (b: RunCacheBuild): string => path.join(b.dir, readIndex(b.dir)!.splits.train!.parts[0].file);

  beforeAll(async () => {
    fingerprintOfTokenizer = (await loadTokenizer(model)).fingerprint;
  });

  it('lives in output_dir/.ptflow-cache', () => {
    expect(runCacheDir('/x/run')).toBe('/x/run/.ptflow-cache');
  });

  it('is built once, then reused untouched while the settings are the same', async () => {
    const b = buildFor({});
    const first = sink();
    const index = await ensureRunCache(b, first);
    expect(first.text).toMatch(/token cache: tokenizing the datasets into .*\.ptflow-cache; /);
    expect(index.fingerprint).toBe(b.fingerprint);
    // 12 documents, val_size 2
    expect([index.splits.train!.documents, index.splits.validation!.documents]).toEqual([10, 2]);
    const before = statSync(trainPart(b));
    const again = sink();
    expect(await ensureRunCache(b, again)).toEqual(index);
    expect(again.text).toMatch(/^token cache: reusing /);
    const after = statSync(trainPart(b));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('other settings (val_size): the old cache is removed and built again', async () => {
    const b = buildFor({ val_size: 4 });
    const o = sink();
    const index = await ensureRunCache(b, o);
    expect(o.text).toMatch(/built from other settings or not finished: removed/);
    expect([index.splits.train!.documents, index.splits.validation!.documents]).toEqual([8, 4]);
    expect(readIndex(b.dir)!.fingerprint).toBe(b.fingerprint);
  });

  it.each([
    ['a build killed before index.json (parts, manifest and a temporary file left)', (b: RunCacheBuild) => {
      writeFileSync(path.join(b.dir, 'train', '.half-written.tmp-1-deadbeef'), 'x');
      writeFileSync(path.join(b.dir, 'index.json.removed'), '');
      rmSync(path.join(b.dir, 'index.json'));
    }],
    ['a truncated part', (b: RunCacheBuild) => truncateSync(trainPart(b), 100)],
    ['an index.json that is not JSON', (b: RunCacheBuild) => writeFileSync(path.join(b.dir, 'index.json'), '{"format": ')],
  ])('%s is not trusted: built again from scratch', async (_what, damage) => {
    const b = buildFor({});
    await ensureRunCache(b, sink());
    damage(b);
    const o = sink();
    const index = await ensureRunCache(b, o);
    expect(o.text).toMatch(/tokenizing the datasets into .*: removed\)/);
    expect(index.fingerprint).toBe(b.fingerprint);
    expect(statSync(trainPart(b)).size).toBe(index.splits.train!.parts[0].bytes);
    // nothing left over from before
    expect(readdirSync(path.join(b.dir, 'train')).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(existsSync(path.join(b.dir, 'index.json.removed'))).toBe(false);
    expect((await ensureRunCache(b, sink())).fingerprint).toBe(b.fingerprint);
  });
});
