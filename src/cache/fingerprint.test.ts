import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatasetSpec } from '../data/registry';
import { loadTokenizer } from '../data/tokenizer';
import { pipelineFingerprint, resolvePipeline } from '../actors/resolve';
import { loadTrainConfig } from '../config/load';
import { describePreprocessing, diffPreprocessing, fingerprintOf, tokenizerFingerprint, type PreprocessingInput } from './fingerprint';

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-fp-'));
  mkdirSync(path.join(dir, 'wiki'));
  const files = { kjv: path.join(dir, 'kjv.jsonl'), w1: path.join(dir, 'wiki', 'a.jsonl'), w2: path.join(dir, 'wiki', 'b.jsonl') };
  for (const f of Object.values(files)) {
    writeFileSync(f, '{"text":"x"}\n');
    utimesSync(f, 1_700_000_000, 1_700_000_000);
  }
  const kjv: DatasetSpec = { name: 'kjv', files: [files.kjv], format: 'jsonl', textColumn: 'text' };
  const wiki: DatasetSpec = { name: 'wiki', files: [files.w1, files.w2], format: 'jsonl', textColumn: 'text' };
  const input: PreprocessingInput = {
    datasetDir: dir, train: [kjv, wiki], eval: [], maxSamples: null, mixStrategy: 'concat', interleaveProbs: null, valSize: 8, seed: 42,
    onBadRecord: 'error', tokenizerFingerprint: 'aaaa',
  };
  return { dir, files, kjv, wiki, input };
}

describe('describePreprocessing', () => {
  it('records each dataset file relative to dataset_dir with its size and mtime', () => {
    const { input } = setup();
    const p = describePreprocessing(input);
    expect(p.datasets.map((d) => [d.name, d.role, d.files.map((f) => [f.path, f.size, f.mtime_ms])])).toEqual([
      ['kjv', 'train', [['kjv.jsonl', 13, 1_700_000_000_000]]],
      ['wiki', 'train', [['wiki/a.jsonl', 13, 1_700_000_000_000], ['wiki/b.jsonl', 13, 1_700_000_000_000]]],
    ]);
    expect(p).toMatchObject({ tokenizer: 'aaaa', val_size: 8, seed: 42, max_samples: null, mix_strategy: 'concat', format_version: 1 });
  });

  it('names a dataset file that cannot be read', () => {
    const { input, kjv } = setup();
    expect(() => describePreprocessing({ ...input, train: [{ ...kjv, files: ['/nonexistent/x.jsonl'] }] })).toThrow(/\/nonexistent\/x\.jsonl/);
  });
});

describe('fingerprintOf / diffPreprocessing', () => {
  it('is stable for the same settings and says what changed otherwise', () => {
    const { input, files, kjv } = setup();
    const built = describePreprocessing(input);
    expect(fingerprintOf(describePreprocessing(input))).toBe(fingerprintOf(built));
    expect(fingerprintOf(built)).toMatch(/^[0-9a-f]{64}$/);
    expect(diffPreprocessing(built, describePreprocessing(input))).toEqual([]);

    const changed = (over: Partial<PreprocessingInput>): string[] => {
      const now = describePreprocessing({ ...input, ...over });
      expect(fingerprintOf(now)).not.toBe(fingerprintOf(built));
      return diffPreprocessing(built, now);
    };
    expect(changed({ valSize: 4 })).toEqual(['val_size 8 → 4']);
    expect(changed({ tokenizerFingerprint: 'bbbb' })).toEqual(['tokenizer changed (tokenizer.json / tokenizer_config.json differ)']);
    expect(changed({ seed: 1, maxSamples: 100 })).toEqual(['max_samples null → 100', 'seed 42 → 1']);
    expect(changed({ mixStrategy: 'interleave_under', interleaveProbs: [0.5, 0.5] })).toEqual([
      'mix_strategy concat → interleave_under',
      'interleave_probs null → 0.5,0.5',
    ]);
    expect(changed({ train: [kjv] })).toEqual(['dataset kjv,wiki → kjv']);
    expect(changed({ train: [{ ...kjv, textColumn: 'content' }, input.train[1]] })).toEqual(["dataset kjv's text column text → content"]);
    expect(changed({ eval: [kjv] })).toEqual(['eval_dataset null → kjv']);

    writeFileSync(files.kjv, '{"text":"xy"}\n');
    utimesSync(files.kjv, 1_700_000_100, 1_700_000_100);
    expect(changed({})).toEqual([
      "dataset kjv's file kjv.jsonl changed (size 13 → 14 bytes, modified 2023-11-14T22:13:20.000Z → 2023-11-14T22:15:00.000Z)",
    ]);
  });

  it('reports files added to and removed from a dataset directory', () => {
    const { input, dir, wiki } = setup();
    const built = describePreprocessing(input);
    const c = path.join(dir, 'wiki', 'c.jsonl');
    writeFileSync(c, '{}\n');
    const now = describePreprocessing({ ...input, train: [input.train[0], { ...wiki, files: [wiki.files[1], c] }] });
    expect(diffPreprocessing(built, now)).toEqual(['dataset wiki has new file wiki/c.jsonl', 'dataset wiki no longer has file wiki/a.jsonl']);
  });
});

describe('the pipeline steps in the fingerprint', () => {
  const { dir, input } = setup();
  const mod = path.join(dir, 'min_len.ts');
  writeFileSync(mod, "import { defineFilter, z } from 'ptflow';\nexport default defineFilter({ name: 'min_len', options: z.object({ n: z.number().default(3) }), keep: (t) => t.length > 3 });\n");
  let k = 0;
  /** The pipeline print of a config whose `pipeline:` is `steps` (YAML). */
  const printOf = (steps: string) => {
    const file = path.join(dir, `p${k++}.yaml`);
    writeFileSync(file, `model_name_or_path: m\noutput_dir: o\ndo_train: true\ndataset: d\npipeline:\n${steps}`);
    const { config, where } = loadTrainConfig(file);
    return pipelineFingerprint(resolvePipeline(config.pipeline, file, where));
  };
  const gopher = (opts: string) => `  - actor: gopher_quality\n    after: DatasetShardActor\n    options: { ${opts} }\n`;
  const mine = '  - actor: ./min_len.ts\n    after: gopher_quality\n';

  it('no steps: the fingerprint of a cache built before steps existed', () => {
    expect(printOf('')).toEqual([]);
    expect(describePreprocessing({ ...input, pipeline: [] })).not.toHaveProperty('pipeline');
    expect(fingerprintOf(describePreprocessing({ ...input, pipeline: [] }))).toBe(fingerprintOf(describePreprocessing(input)));
  });

  it('changes with a step, its options (defaults filled in), its place and a module\'s source, and says which step', () => {
    const fp = (steps: string) => describePreprocessing({ ...input, pipeline: printOf(steps) });
    const a = fp(gopher('min_doc_words: 50') + mine);
    expect(a.pipeline!.map((p) => [p.name, p.source.slice(0, 7), p.at])).toEqual([['gopher_quality', 'builtin', 'after DatasetShardActor'], ['min_len', 'sha256:', 'after gopher_quality']]);
    // 50 is gopher_quality's default: writing it or not is the same cache
    expect(fingerprintOf(fp(gopher('') + mine))).toBe(fingerprintOf(a));
    const b = fp(gopher('min_doc_words: 60') + mine);
    expect(fingerprintOf(b)).not.toBe(fingerprintOf(a));
    expect(diffPreprocessing(a, b)).toEqual(["pipeline step 'gopher_quality' options changed (min_doc_words 50 → 60)"]);
    expect(diffPreprocessing(a, fp(gopher('min_doc_words: 50')))).toEqual(["pipeline step 'min_len' (min_len) was removed"]);
    expect(diffPreprocessing(fp(gopher('')), a)).toEqual(["pipeline step 'min_len' (min_len) was added"]);
    writeFileSync(mod, readFileSync(mod, 'utf8') + '// changed\n');
    const c = fp(gopher('') + mine);
    expect(fingerprintOf(c)).not.toBe(fingerprintOf(a));
    expect(diffPreprocessing(a, c)).toEqual([expect.stringMatching(/^pipeline step 'min_len': the actor module's source changed \(sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}\)$/)]);
    const moved = fp(gopher('') + '  - actor: ./min_len.ts\n    before: TokenizerActor\n');
    expect(diffPreprocessing(c, moved)).toEqual(["pipeline step 'min_len' moved (after gopher_quality → before TokenizerActor)"]);
  });
});

describe('tokenizerFingerprint', () => {
  it('equals the fingerprint loadTokenizer computes, and names a missing file', () => {
    const dir = path.join(__dirname, '../../examples/tiny-llama');
    expect(tokenizerFingerprint(dir)).toBe(loadTokenizer(dir).fingerprint);
    expect(() => tokenizerFingerprint(os.tmpdir())).toThrow(/Cannot read tokenizer file .*tokenizer\.json/);
  });
});
