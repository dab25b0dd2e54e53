import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePipeline, splitAtCache } from '../actors/resolve';
import { docsChainOrder } from '../actors/step-chain';
import { loadTrainConfig } from '../config/load';
import { PtflowError } from '../errors';
import { defaultGraph, type DefaultGraphParams } from '../workflow/default-graph';
import { findCycle, type PipelineGraph } from './graph';
import { insertSteps } from './insert-steps';

const dir = mkdtempSync(join(tmpdir(), 'ptflow-steps-'));
let n = 0;
const BASE = 'model_name_or_path: m\noutput_dir: o\ndo_train: true\ndataset: d\n';

/** Loads a config whose `pipeline:` is `steps` (YAML text) and inserts it into the training graph. */
function build(steps: string, opts: { eval_only?: boolean } = {}): { graph: PipelineGraph; file: string } {
  const file = join(dir, `cfg${n++}.yaml`);
  writeFileSync(file, BASE + 'pipeline:\n' + steps);
  const { config, where } = loadTrainConfig(file);
  const resolved = resolvePipeline(config.pipeline, file, where);
  const p = { shard: {}, tokenizer: {}, collator: {}, trainer: opts.eval_only ? null : {}, evaluator: opts.eval_only ? {} : null, prefetchBatches: 4, prefetchBytes: 1 << 20 };
  return { graph: insertSteps(defaultGraph(p as unknown as DefaultGraphParams), resolved), file };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PtflowError);
    expect((e as PtflowError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

/** The chain of actors from DatasetShardActor along the first output edge of each. */
function chain(g: PipelineGraph): string[] {
  const out: string[] = [];
  for (let a: string | undefined = 'DatasetShardActor'; a !== undefined; ) {
    out.push(a);
    const e = g.edges.find((x) => x.from.actor === a && (x.from.port !== 'eval'));
    a = e?.to.actor;
  }
  return out;
}

describe('pipeline: steps inserted at named edges', () => {
  it('after / before place steps in list order, each on its edge kind', () => {
    const { graph } = build(
      [
        '  - actor: gopher_quality\n    after: DatasetShardActor',
        '  - actor: exact_dedup\n    after: DatasetShardActor',
        '  - actor: identity\n    before: TokenizerActor\n    name: last_docs_step',
      ].join('\n') + '\n',
    );
    expect(chain(graph)).toEqual(['DatasetShardActor', 'gopher_quality', 'exact_dedup', 'last_docs_step', 'TokenizerActor', 'CollatorActor', 'TrainerActor']);
    const e = graph.edges.find((x) => x.to.actor === 'exact_dedup')!;
    expect([e.kind, e.schema, e.window]).toEqual(['docs', 'RawDocs', 4]);
    expect(graph.actors.find((a) => a.name === 'gopher_quality')!.module).toBe('actors/StepActor');
  });

  it('a batches step before TrainerActor sits on the train edge; eval batches go straight to the trainer', () => {
    const mod = join(dir, 'pass.js');
    writeFileSync(mod, "const { defineActor } = require('ptflow');\nmodule.exports = { default: defineActor({ name: 'pass', input: 'batches', output: 'batches', process: (b) => b }) };\n");
    const { graph } = build(`  - actor: ./pass.js\n    before: TrainerActor\n`);
    expect(graph.edges.find((e) => e.to.actor === 'pass')!.from).toEqual({ actor: 'CollatorActor', port: 'train' });
    expect(graph.edges.find((e) => e.from.actor === 'pass')!.to).toEqual({ actor: 'TrainerActor', port: 'train' });
    expect(graph.edges.find((e) => e.to.port === 'eval')!.from.actor).toBe('CollatorActor');
  });

  it('a resumed run hands each batches step, in edge order, where it resumes from the checkpoint cursor', () => {
    const mod = join(dir, 'pass.js');
    writeFileSync(mod, "const { defineActor } = require('ptflow');\nmodule.exports = { default: defineActor({ name: 'pass', input: 'batches', output: 'batches', process: (b) => b }) };\n");
    const file = join(dir, `cfg${n++}.yaml`);
    // Listed second, 'first' sits first on the edge: right after the collator.
    writeFileSync(file, BASE + 'pipeline:\n  - actor: ./pass.js\n    name: second\n    before: TrainerActor\n  - actor: ./pass.js\n    name: first\n    after: CollatorActor\n');
    const { config, where } = loadTrainConfig(file);
    const resolved = resolvePipeline(config.pipeline, file, where);
    const p = { shard: {}, tokenizer: {}, collator: {}, trainer: {}, evaluator: null, prefetchBatches: 4, prefetchBytes: 1 << 20 };
    const from = { epoch: 0, micro: 3, steps: { first: { n: 3 } } };
    const cursor = { kind: 'split', from, skip: [{ step: 'first', outputs: 1 }, { step: 'second', outputs: 2 }], steps: { second: { n: 5 } } };
    const graph = insertSteps(defaultGraph(p as unknown as DefaultGraphParams), resolved, [], cursor);
    const params = (name: string) => graph.actors.find((a) => a.name === name)!.params as Record<string, unknown>;
    expect(params('first')).toMatchObject({ resume_before: from, resume_skip: 1, resume_snapshot: { n: 3 } });
    expect(params('second')).toMatchObject({ resume_before: { ...cursor, skip: [{ step: 'first', outputs: 1 }] }, resume_skip: 2, resume_snapshot: { n: 5 } });
    // A fresh run: nothing to resume.
    const fresh = insertSteps(defaultGraph(p as unknown as DefaultGraphParams), resolved);
    expect(fresh.actors.find((a) => a.name === 'first')!.params).not.toHaveProperty('resume_skip');
  });

  it.each([
    ['  - actor: gopher_quality\n    after: Tokeniser\n', /cfg\d+\.yaml:6\): after: no actor is named 'Tokeniser'; the graph has DatasetShardActor, TokenizerActor, CollatorActor, TrainerActor/],
    ['  - actor: gopher_quality\n    after: exact_dedup\n  - actor: exact_dedup\n    after: DatasetShardActor\n', /'exact_dedup' is a step listed later/],
    ['  - actor: gopher_quality\n    after: gopher_quality\n', /after: 'gopher_quality' is the step itself \(that would be a cycle\)/],
    ['  - actor: gopher_quality\n    after: TokenizerActor\n', /actor 'gopher_quality' consumes docs and produces docs, but the edge TokenizerActor → CollatorActor carries tokens/],
    ['  - actor: gopher_qualty\n    after: DatasetShardActor\n', /pipeline step 1 \(.*cfg\d+\.yaml:6\): unknown actor 'gopher_qualty': built-ins are gopher_quality/],
    ['  - actor: ./missing.ts\n    after: DatasetShardActor\n', /cfg\d+\.yaml:6\): actor module '\.\/missing\.ts' not found/],
    ['  - actor: gopher_quality\n    after: DatasetShardActor\n    options:\n      min_doc_words: lots\n', /pipeline step 'gopher_quality' \(.*cfg\d+\.yaml:9\): option 'min_doc_words': .*expected number.*got "lots"/],
    ['  - actor: exact_dedup\n    after: DatasetShardActor\n    workers: 2\n', /cfg\d+\.yaml:8\): workers: 2 needs a stateless actor/],
    ['  - actor: identity\n    after: DatasetShardActor\n  - actor: identity\n    after: identity\n', /another step is also named 'identity'.*give one a name: key/],
    ['  - actor: identity\n    after: DatasetShardActor\n    before: TokenizerActor\n', /cfg\d+\.yaml:6: 'pipeline' \(item 0\) needs exactly one of after: or before:/],
    ['  - actor: identity\n    after: DatasetShardActor\n    worker: 2\n', /cfg\d+\.yaml:8: 'pipeline' \(item 0\) Unrecognized key: "worker", got \{"actor"/],
  ])('error: %j', (steps, message) => {
    expect(errorOf(() => build(steps))).toMatch(message);
  });

  it("a module whose default export is not an actor is refused, naming the module and the YAML line", () => {
    writeFileSync(join(dir, 'plain.mjs'), 'export default { name: "x", process: (b) => b };\n');
    writeFileSync(join(dir, 'none.ts'), 'export const actor = 1;\n');
    expect(errorOf(() => build('  - actor: ./plain.mjs\n    after: DatasetShardActor\n'))).toMatch(
      /cfg\d+\.yaml:6\): module .*plain\.mjs has a default export that is an object made without defineActor\/defineFilter/,
    );
    expect(errorOf(() => build('  - actor: ./none.ts\n    after: DatasetShardActor\n'))).toMatch(/none\.ts has no default export/);
  });

  it('with a tokenized cache the docs steps go to prepare, in the order the graph runs them; the others stay in the graph', () => {
    const file = join(dir, `cfg${n++}.yaml`);
    writeFileSync(file, BASE + 'tokenized_path: cache\npipeline:\n' + [
      '  - actor: exact_dedup\n    after: DatasetShardActor',
      '  - actor: identity\n    before: TokenizerActor\n    name: last_docs',
      '  - actor: gopher_quality\n    after: DatasetShardActor',
    ].join('\n') + '\n');
    const { config, where } = loadTrainConfig(file);
    const steps = resolvePipeline(config.pipeline, file, where);
    const { prepare, graph } = splitAtCache(steps, config.tokenized_path);
    expect(graph).toEqual([]);
    // gopher_quality goes after the last step placed after DatasetShardActor (exact_dedup), before last_docs.
    expect(docsChainOrder(prepare).map((s) => s.name)).toEqual(['exact_dedup', 'gopher_quality', 'last_docs']);
    expect(splitAtCache(steps, null)).toEqual({ prepare: [], graph: steps });
  });

  it('validateGraph finds cycles', () => {
    const node = (name: string) => ({ name, module: 'm', params: null, inputs: ['i'], outputs: ['o'], maxRestarts: 0 });
    const edge = (a: string, b: string) => ({ from: { actor: a, port: 'o' }, to: { actor: b, port: 'i' }, schema: 'RawDocs', window: 1, byteBudget: 1 });
    expect(findCycle({ actors: [node('a'), node('b'), node('c')], edges: [edge('a', 'b'), edge('b', 'c'), edge('c', 'a')] })).toEqual(['a', 'b', 'c', 'a']);
  });
});
