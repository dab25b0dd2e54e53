/**
 * `ptflow prepare` in process, on a tiny real corpus with a real 32k tokenizer: the cache holds what
 * train would tokenize (in train's order), ranks concatenate to the single-process output, a worker
 * pool changes nothing, and stale / incomplete / damaged caches are refused with clear messages.
 * (Worker pools load compiled files: run `npm run build` first.)
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadTrainConfig } from '../config';
import { collectDocs } from '../data/readers';
import { mixDatasets } from '../data/mix';
import { resolveDatasets } from '../data/registry';
import { trainTestSplit } from '../data/split';
import { loadTokenizer } from '../data/tokenizer';
import { readPart } from '../cache/arrow-part';
import { readIndex } from '../cache/index-file';
import type { TokenCacheIndex } from '../../schemas/token-cache';
import { tinyDataset, tinyModelDir, tmpDir, writeYaml } from '../../test/helpers';
import { cacheForTrain, configuredDatasets, runPrepare } from './prepare';

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

async function splitDocs(dir: string, index: TokenCacheIndex, split: 'train' | 'validation'): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of index.splits[split]?.parts ?? []) for await (const b of readPart(path.join(dir, p.file), p)) for (const d of b) out.push(Array.from(d));
  return out;
}

describe('ptflow prepare', () => {
  const root = tmpDir('ptflow-prepare-');
  const model = tinyModelDir(root);
  const data = tinyDataset(root, 24);
  // a second dataset (chapters 25…40), to exercise interleaving
  const lines = readFileSync(path.join(__dirname, '../../examples/data/kjv_demo.jsonl'), 'utf8').split('\n').filter(Boolean).slice(24, 40);
  writeFileSync(path.join(data, 'more.jsonl'), lines.map((l) => JSON.stringify({ text: (JSON.parse(l) as { text: string }).text.slice(0, 400) })).join('\n') + '\n');
  writeFileSync(
    path.join(data, 'dataset_info.json'),
    JSON.stringify({ kjv: { file_name: 'kjv.jsonl' }, more: { file_name: 'more.jsonl' } }),
  );
  const cfg = (name: string, extra: Record<string, unknown> = {}): string =>
    writeYaml(path.join(root, `${name}.yaml`), {
      model_name_or_path: model, stage: 'pt', do_train: true, dataset: 'kjv', dataset_dir: data, cutoff_len: 32, val_size: 3,
      output_dir: path.join(root, `out-${name}`), seed: 7, tokenizer_workers: 1, tokenized_path: path.join(root, `cache-${name}`), ...extra,
    });

  it('writes the documents train tokenizes, in train order, with eos and the index counts', async () => {
    const out = sink();
    const r = await runPrepare(cfg('one'), [], {}, { out });
    expect(r.status).toBe('complete');
    const dir = path.join(root, 'cache-one');
    const index = readIndex(dir)!;
    expect(index.world_size).toBe(1);

    // What DatasetShardActor + TokenizerActor produce, computed here from the pieces.
    const tok = loadTokenizer(model);
    const docs = await collectDocs(resolveDatasets(data, 'kjv')[0]);
    const split = trainTestSplit(docs, 3, 7);
    const train = await splitDocs(dir, index, 'train');
    const val = await splitDocs(dir, index, 'validation');
    expect(train).toEqual(split.train.map((d) => Array.from(tok.encodeDoc(d.text))));
    expect(val).toEqual(split.test.map((d) => Array.from(tok.encodeDoc(d.text))));
    expect(index.splits.train.documents).toBe(21);
    expect(index.splits.validation.documents).toBe(3);
    expect(index.splits.train.tokens).toBe(train.reduce((a, d) => a + d.length, 0));

    // By hand, from tokenizer.json's vocabulary: Genesis 1 starts "In the beginning God created", ends with </s>.
    const vocab = (JSON.parse(readFileSync(path.join(model, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    const genesis = [...train, ...val][[...split.train, ...split.test].findIndex((d) => d.text.startsWith('In the beginning'))];
    expect(genesis.slice(0, 5)).toEqual(['▁In', '▁the', '▁beginning', '▁God', '▁created'].map((t) => vocab[t]));
    expect(genesis[genesis.length - 1]).toBe(vocab['</s>']);
    for (const d of [...train, ...val]) expect(d.filter((id) => id === vocab['</s>'])).toHaveLength(1);
    expect(out.text).toMatch(/ writing: 24\/24/); // val_size shuffles: through the scratch file
    expect(out.text).toMatch(/tokens\/s/);
    expect(out.text).toMatch(/docs\/s/);

    // A second run finds it up to date.
    expect((await runPrepare(cfg('one'), [], {}, { out: sink() })).status).toBe('up-to-date');
  });

  it('3 ranks (interleaved datasets + val_size) concatenate to the single-process output; a worker pool changes nothing', async () => {
    const extra = { dataset: 'kjv,more', mix_strategy: 'interleave_over', val_size: 5 };
    await runPrepare(cfg('w1', extra), [], {}, { out: sink() });
    const statuses: string[] = [];
    for (const rank of [2, 0, 1]) {
      statuses.push((await runPrepare(cfg('w3', extra), [], { rank: String(rank), worldSize: '3' }, { out: sink() })).status);
    }
    expect(statuses).toEqual(['part-done', 'part-done', 'complete']); // the last rank to finish writes index.json
    await runPrepare(cfg('pool', { ...extra, tokenizer_workers: 2 }), [], {}, { out: sink() });

    const one = readIndex(path.join(root, 'cache-w1'))!;
    const three = readIndex(path.join(root, 'cache-w3'))!;
    const pool = readIndex(path.join(root, 'cache-pool'))!;
    expect(three.world_size).toBe(3);
    expect(three.splits.train.parts.map((p) => p.file)).toEqual([0, 1, 2].map((r) => `train/part-0000${r}-of-00003.arrow`));
    expect(three.fingerprint).toBe(one.fingerprint);
    for (const s of ['train', 'validation'] as const) {
      const a = await splitDocs(path.join(root, 'cache-w1'), one, s);
      expect(a.length).toBeGreaterThan(0);
      expect(await splitDocs(path.join(root, 'cache-w3'), three, s)).toEqual(a);
      expect(await splitDocs(path.join(root, 'cache-pool'), pool, s)).toEqual(a);
    }
    // interleave_over of 24 and 16 documents: 48, of which 5 for validation
    expect(one.splits.train.documents + one.splits.validation.documents).toBe(48);
    const tok = loadTokenizer(model);
    const c = loadTrainConfig(cfg('w1', extra)).config;
    const { trainSets } = configuredDatasets(c);
    const lists = await Promise.all(trainSets.map((s) => collectDocs(s)));
    const mixed = mixDatasets(lists, { strategy: 'interleave_over', seed: 7 });
    const expected = trainTestSplit(mixed, 5, 7).train.map((d) => Array.from(tok.encodeDoc(d.text)));
    expect(await splitDocs(path.join(root, 'cache-w1'), one, 'train')).toEqual(expected);
  });

  it('without a shuffle (eval_dataset, no val_size) writes documents in read order, same for 1 and 3 ranks', async () => {
    const extra = { val_size: 0, eval_dataset: 'more' };
    const log = sink();
    await runPrepare(cfg('ro1', extra), [], {}, { out: log });
    expect(log.text).not.toMatch(/ writing: /); // straight into the parts, no scratch file
    for (const rank of [0, 1, 2]) await runPrepare(cfg('ro3', { ...extra, tokenizer_workers: 2 }), [], { rank, worldSize: 3 }, { out: sink() });
    const one = readIndex(path.join(root, 'cache-ro1'))!;
    const three = readIndex(path.join(root, 'cache-ro3'))!;
    const tok = loadTokenizer(model);
    const [kjv, more] = resolveDatasets(data, 'kjv,more');
    const expectTrain = (await collectDocs(kjv)).map((d) => Array.from(tok.encodeDoc(d.text)));
    const expectVal = (await collectDocs(more)).map((d) => Array.from(tok.encodeDoc(d.text)));
    expect(await splitDocs(path.join(root, 'cache-ro1'), one, 'train')).toEqual(expectTrain);
    expect(await splitDocs(path.join(root, 'cache-ro1'), one, 'validation')).toEqual(expectVal);
    expect(await splitDocs(path.join(root, 'cache-ro3'), three, 'train')).toEqual(expectTrain);
    expect(await splitDocs(path.join(root, 'cache-ro3'), three, 'validation')).toEqual(expectVal);
    expect(three.splits.validation.parts.map((p) => [p.first, p.documents])).toEqual([[0, 5], [5, 5], [10, 6]]);
  });

  it('max_samples with concatenated datasets: one rank in one pass = 3 ranks with a counting pass', async () => {
    const extra = { val_size: 0, dataset: 'kjv,more', max_samples: 10 };
    await runPrepare(cfg('ms1', extra), [], {}, { out: sink() });
    for (const rank of [0, 1, 2]) await runPrepare(cfg('ms3', extra), [], { rank, worldSize: 3 }, { out: sink() });
    const tok = loadTokenizer(model);
    const [kjv, more] = resolveDatasets(data, 'kjv,more');
    const expected = [...(await collectDocs(kjv, 10)), ...(await collectDocs(more, 10))].map((d) => Array.from(tok.encodeDoc(d.text)));
    for (const name of ['ms1', 'ms3']) {
      const d = path.join(root, `cache-${name}`);
      expect(await splitDocs(d, readIndex(d)!, 'train')).toEqual(expected);
    }
  });

  it('refuses a stale cache, saying what changed and how to rebuild', async () => {
    const file = cfg('stale');
    await runPrepare(file, [], {}, { out: sink() });
    const attempt = async (overrides: string[], modelDir = model) => {
      const c = loadTrainConfig(file, [...overrides, `model_name_or_path=${modelDir}`]).config;
      const { trainSets, evalSets } = configuredDatasets(c);
      return cacheForTrain(c, trainSets, evalSets, loadTokenizer(modelDir), sink(), file);
    };
    await expect(attempt([])).resolves.toMatchObject({ world_size: 1 });
    await expect(attempt(['val_size=2'])).rejects.toThrow(/stale: val_size 3 → 2\. Rebuild it with `ptflow prepare .*stale\.yaml` \(or set overwrite_cache: true\)/);
    const other = path.join(root, 'other');
    mkdirSync(other);
    for (const f of ['config.json', 'tokenizer.json']) copyFileSync(path.join(model, f), path.join(other, f));
    const tc = JSON.parse(readFileSync(path.join(model, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(path.join(other, 'tokenizer_config.json'), JSON.stringify({ ...tc, model_max_length: 77 }));
    await expect(attempt([], other)).rejects.toThrow(/stale: tokenizer changed/);
    await expect(attempt(['max_samples=10', 'seed=1'])).rejects.toThrow(/max_samples null → 10; seed 7 → 1/);
    const before = readFileSync(path.join(data, 'kjv.jsonl'));
    appendFileSync(path.join(data, 'kjv.jsonl'), '{"text": "one more"}\n');
    try {
      await expect(attempt([])).rejects.toThrow(/dataset kjv's file kjv\.jsonl changed \(size/);
    } finally {
      writeFileSync(path.join(data, 'kjv.jsonl'), before);
    }
    // overwrite_cache rebuilds instead
    const rebuilt = await attempt(['overwrite_cache=true', 'val_size=2']);
    expect(rebuilt.splits.validation.documents).toBe(2);
  });

  it('names missing parts and damaged files', async () => {
    const file = cfg('broken');
    await runPrepare(file, [], { rank: '0', worldSize: '3' }, { out: sink() });
    await runPrepare(file, [], { rank: '2', worldSize: '3' }, { out: sink() });
    await expect(runPrepare(file, [], { merge: true }, { out: sink() })).rejects.toThrow(
      /incomplete: 1 of 3 parts not ready \(missing: parts\/part-00001-of-00003\.json\)\. Run `ptflow prepare … --rank R --world-size 3` for rank 1/,
    );
    const c = loadTrainConfig(file).config;
    const { trainSets, evalSets } = configuredDatasets(c);
    await expect(cacheForTrain(c, trainSets, evalSets, loadTokenizer(model), sink(), file)).rejects.toThrow(/part-00001-of-00003/);

    await runPrepare(file, [], { rank: '1', worldSize: '3' }, { out: sink() });
    const dir = path.join(root, 'cache-broken');
    const index = readIndex(dir)!;
    const part = index.splits.train.parts[1];
    truncateSync(path.join(dir, part.file), part.bytes - 100);
    await expect(cacheForTrain(c, trainSets, evalSets, loadTokenizer(model), sink(), file)).rejects.toThrow(
      new RegExp(`train/part-00001-of-00003\\.arrow is truncated: ${part.bytes - 100} bytes, the index says ${part.bytes}`),
    );
    rmSync(path.join(dir, part.file));
    await expect(cacheForTrain(c, trainSets, evalSets, loadTokenizer(model), sink(), file)).rejects.toThrow(/part-00001-of-00003\.arrow is missing/);
    // prepare rebuilds the damaged rank's part (its manifest no longer matches its files)
    await runPrepare(file, [], { rank: '1', worldSize: '3' }, { out: sink() });
    await expect(cacheForTrain(c, trainSets, evalSets, loadTokenizer(model), sink(), file)).resolves.toMatchObject({ world_size: 3 });
  });

  it('train with tokenized_path and no cache there builds it first', async () => {
    const file = cfg('lazy');
    const c = loadTrainConfig(file).config;
    const { trainSets, evalSets } = configuredDatasets(c);
    const out = sink();
    const index = await cacheForTrain(c, trainSets, evalSets, loadTokenizer(model), out, file);
    expect(out.text).toMatch(/cache-lazy holds no tokenized cache yet: tokenizing the datasets into .*cache-lazy first/);
    expect(index.splits.train.documents).toBe(21);
    expect(readIndex(path.join(root, 'cache-lazy'))).toEqual(index);
    // its offsets indexes are written beside the parts on first use
    for (const p of index.splits.train.parts) expect(existsSync(path.join(root, 'cache-lazy', p.file.replace(/\.arrow$/, '.offsets.json')))).toBe(true);
    // an edited offsets index is refused before training starts
    const offsets = path.join(root, 'cache-lazy', index.splits.train.parts[0].file.replace(/\.arrow$/, '.offsets.json'));
    const edited = JSON.parse(readFileSync(offsets, 'utf8'));
    edited.batches[0][0] += 1; // a consistent edit (the counts still add up): only the digest tells
    edited.documents += 1;
    writeFileSync(offsets, JSON.stringify(edited));
    await expect(cacheForTrain(c, trainSets, evalSets, loadTokenizer(model), sink(), file)).rejects.toThrow(/offsets\.json was edited/);
  });

  it('needs tokenized_path', async () => {
    await expect(runPrepare(cfg('nopath'), ['tokenized_path=null'], {}, { out: sink() })).rejects.toThrow(/tokenized_path is not set/);
  });
});
