import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { resolvePipeline } from '../actors/resolve';
import { loadTrainConfig } from '../config/load';
import { dataSettingsOf, diffDataSettings } from './data-settings';
import { diffPipelineSettings, hasBatchesStep, pipelineSettingsOf } from './pipeline-settings';

const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-pipeline-settings-'));
const mod = path.join(dir, 'min_len.ts');
writeFileSync(mod, "import { defineFilter, z } from 'ptflow';\nexport default defineFilter({ name: 'min_len', options: z.object({ n: z.number().default(3) }), keep: (t) => t.length > 3 });\n");
let k = 0;
/** The config whose `pipeline:` is `steps` (YAML) and its steps as a checkpoint records them. */
const load = (steps: string) => {
  const file = path.join(dir, `p${k++}.yaml`);
  writeFileSync(file, `model_name_or_path: m\noutput_dir: o\ndo_train: true\ndataset: d\npipeline:\n${steps}`);
  const { config, where } = loadTrainConfig(file);
  return { config, steps: pipelineSettingsOf(resolvePipeline(config.pipeline, file, where)) };
};
const settingsOf = (steps: string) => load(steps).steps;
const gopher = (opts: string, extra = '') => `  - actor: gopher_quality\n    after: DatasetShardActor\n    options: { ${opts} }\n${extra}`;
const mine = '  - actor: ./min_len.ts\n    after: gopher_quality\n';

describe('the pipeline steps in a checkpoint\'s data settings', () => {
  it('records each step in YAML order: actor, module and its SHA-256, options with defaults, place, edges, workers', () => {
    const s = settingsOf(gopher('min_doc_words: 60', '    workers: 2\n') + mine);
    expect(s.map((p) => [p.name, p.actor, p.module, p.at, p.input, p.output, p.workers])).toEqual([
      ['gopher_quality', 'gopher_quality', 'builtin', 'after DatasetShardActor', 'docs', 'docs', 2],
      ['min_len', 'min_len', mod, 'after gopher_quality', 'docs', 'docs', 1],
    ]);
    expect(s[1].source).toBe(`sha256:${createHash('sha256').update(readFileSync(mod)).digest('hex')}`);
    expect(s[0].options).toMatchObject({ min_doc_words: 60, max_doc_words: 100000 });
    expect(hasBatchesStep(s)).toBe(false);
    expect(hasBatchesStep([...s, { ...s[0], input: 'batches' }])).toBe(true);
  });

  it('names each change; the number of workers is not one (it does not change the data)', () => {
    const a = settingsOf(gopher('min_doc_words: 50') + mine);
    // 50 is gopher_quality's default: writing it or not is the same step
    expect(diffPipelineSettings(a, settingsOf(gopher('') + mine))).toEqual([]);
    expect(diffPipelineSettings(a, settingsOf(gopher('', '    workers: 3\n') + mine))).toEqual([]);
    expect(diffPipelineSettings(a, settingsOf(gopher('min_doc_words: 60') + mine))).toEqual(["pipeline step 'gopher_quality' options changed (min_doc_words 50 → 60)"]);
    expect(diffPipelineSettings(a, settingsOf(gopher('')))).toEqual([`pipeline step 'min_len' (min_len from ${mod}) was removed`]);
    expect(diffPipelineSettings(settingsOf(gopher('')), a)).toEqual([`pipeline step 'min_len' (min_len from ${mod}) was added`]);
    expect(diffPipelineSettings(a, settingsOf(gopher('') + '  - actor: ./min_len.ts\n    before: TokenizerActor\n'))).toEqual([
      "pipeline step 'min_len' moved (after gopher_quality → before TokenizerActor)",
    ]);
    expect(diffPipelineSettings(a, settingsOf('  - actor: c4_quality\n    name: gopher_quality\n    after: DatasetShardActor\n' + mine))).toEqual([
      "pipeline step 'gopher_quality' runs c4_quality, the checkpoint's run ran gopher_quality",
      expect.stringMatching(/^pipeline step 'gopher_quality' options changed/),
    ]);
    writeFileSync(mod, readFileSync(mod, 'utf8') + '// changed\n');
    expect(diffPipelineSettings(a, settingsOf(gopher('') + mine))).toEqual([
      expect.stringMatching(new RegExp(`^pipeline step 'min_len': the actor module's source changed \\(${mod.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}\\)$`)),
    ]);
  });

  it("hashes the files of the user's own that a module imports (a helper, a JSON file), not packages", () => {
    const sub = mkdtempSync(path.join(dir, 'imports-'));
    writeFileSync(path.join(sub, 'words.json'), '["a","b"]\n');
    writeFileSync(path.join(sub, 'helper.ts'), "import words from './words.json';\nexport const banned = new Set<string>(words);\n");
    const modFile = path.join(sub, 'ban.ts');
    writeFileSync(modFile, "import { defineFilter, z } from 'ptflow';\nimport { banned } from './helper';\nexport default defineFilter({ name: 'ban', options: z.object({}), keep: (t) => !banned.has(t) });\n");
    const step = `  - actor: ./${path.basename(sub)}/ban.ts\n    after: DatasetShardActor\n`;
    const first = settingsOf(step)[0].source;
    // Independently: the module's bytes, then each import (path relative to the module, in path order).
    const h = createHash('sha256').update(readFileSync(modFile));
    for (const f of ['helper.ts', 'words.json']) h.update(`\0${f}\0`).update(readFileSync(path.join(sub, f)));
    expect(first).toBe(`sha256:${h.digest('hex')}`);
    expect(first).not.toBe(`sha256:${createHash('sha256').update(readFileSync(modFile)).digest('hex')}`);
    writeFileSync(path.join(sub, 'words.json'), '["a","c"]\n');
    const second = settingsOf(step)[0].source;
    expect(second).not.toBe(first);
    writeFileSync(path.join(sub, 'helper.ts'), readFileSync(path.join(sub, 'helper.ts'), 'utf8') + '// edited\n');
    const third = settingsOf(step)[0].source;
    expect(new Set([first, second, third]).size).toBe(3);
  });

  it('is part of the data settings a resume compares; a checkpoint without it (an older ptflow\'s) is not compared on it', () => {
    const a = load(gopher(''));
    const b = load(gopher('min_doc_words: 60'));
    const saved = dataSettingsOf(a.config, [], [], 'tok', 1, a.steps);
    const now = dataSettingsOf(b.config, [], [], 'tok', 1, b.steps);
    expect(diffDataSettings(saved, now)).toEqual(["pipeline step 'gopher_quality' options changed (min_doc_words 50 → 60)"]);
    expect(diffDataSettings({ ...saved, pipeline: undefined }, now)).toEqual([]);
    expect(dataSettingsOf(a.config, [], [], 'tok').pipeline).toEqual([]);
  });
});
