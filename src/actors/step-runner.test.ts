import { tableFromArrays } from 'apache-arrow';
import { z } from 'zod';
import { decodeRawDocs, encodeRawDocs } from '../../schemas/raw-docs';
import { defineActor, defineFilter } from './api';
import { docsBatch, readDocs, readTrainBatch, trainBatch } from './edges';
import { decodeTrainBatch, encodeTrainBatch } from '../../schemas/train-batch';
import { parseStepOptions } from './options';
import { StepRunner } from './step-runner';

const opts = { where: "pipeline step 't' (cfg.yaml:3)", actor: 't', worker: 0, workers: 1, exclusions: null, log: () => undefined, attempt: () => 0 };
const docs = (texts: string[]) => encodeRawDocs(texts.map((text, i) => ({ docId: i, source: 'f.jsonl', text })));

describe('StepRunner', () => {
  it('a filter counts seen / kept / dropped_<reason> and passes a fully kept batch on as the same bytes', async () => {
    const f = defineFilter({
      name: 'short',
      options: z.object({ min: z.number() }),
      init: (o) => o.min,
      keep: (text, _d, min) => (text.length >= min ? true : text.length === 0 ? false : 'too_short'),
    });
    const r = new StepRunner(f, { min: 3 }, opts);
    await r.start();
    const input = docs(['abcd', 'ab', '', 'abc']);
    const [out] = await r.process(input);
    expect(decodeRawDocs(out).texts).toEqual(['abcd', 'abc']);
    expect(Array.from(decodeRawDocs(out).docIds)).toEqual([0n, 3n]);
    const whole = docs(['abcdef']);
    expect((await r.process(whole))[0]).toBe(whole);
    expect(r.counts).toEqual({ seen: 5, kept: 3, dropped_too_short: 1, dropped_filtered: 1 });
  });

  it('a general actor gets an Arrow RecordBatch and may return zero, one or many', async () => {
    const split = defineActor({
      name: 'split',
      input: 'docs',
      output: 'docs',
      process(batch) {
        const d = readDocs(batch);
        if (d.length === 1) return null;
        return d.map((x) => docsBatch([{ ...x, text: x.text.toUpperCase() }]));
      },
    });
    const r = new StepRunner(split, {}, opts);
    await r.start();
    const outs = await r.process(docs(['a', 'b']));
    expect(outs.map((o) => decodeRawDocs(o).texts[0])).toEqual(['A', 'B']);
    expect(await r.process(docs(['x']))).toEqual([]);
    expect(r.counts).toEqual({ seen: 3, kept: 2 });
  });

  it('an output that breaks the edge contract stops the run naming actor, field and YAML line', async () => {
    const bad = defineActor({
      name: 'bad', input: 'docs', output: 'docs',
      process: () => tableFromArrays({ doc_id: BigInt64Array.from([1n]), text: Int32Array.from([5]) }).batches[0],
    });
    const r = new StepRunner(bad, {}, opts);
    await r.start();
    await expect(r.process(docs(['a']))).rejects.toThrow(
      "pipeline step 't' (cfg.yaml:3): process output does not match the docs edge: field 'source' is missing",
    );
    const wrongType = defineActor({
      name: 'bad2', input: 'docs', output: 'docs',
      process: () => tableFromArrays({ doc_id: BigInt64Array.from([1n]), source: ['s'], text: Int32Array.from([5]) }).batches[0],
    });
    const r2 = new StepRunner(wrongType, {}, opts);
    await r2.start();
    await expect(r2.process(docs(['a']))).rejects.toThrow("docs edge: field 'text' is Int32, the docs edge needs Utf8");
    const notBatch = defineActor({ name: 'bad3', input: 'docs', output: 'docs', process: () => [{ text: 'x' }] as never });
    const r3 = new StepRunner(notBatch, {}, opts);
    await r3.start();
    await expect(r3.process(docs(['a']))).rejects.toThrow(/returned Object where an Arrow RecordBatch of the docs edge \(RawDocs\) was expected/);
  });

  it('a throwing actor is named in the error', async () => {
    const t = defineActor({ name: 'thrower', input: 'docs', output: 'docs', process: () => { throw new Error('kaput'); } });
    const r = new StepRunner(t, {}, opts);
    await r.start();
    await expect(r.process(docs(['a']))).rejects.toThrow("pipeline step 't' (cfg.yaml:3): process threw: kaput");
  });

  it('a batches actor reads the rows with readTrainBatch and makes a new batch with trainBatch', async () => {
    // Swaps the two rows of each batch and ignores the first label of each row.
    const swap = defineActor({
      name: 'swap', input: 'batches', output: 'batches',
      process(batch) {
        const b = readTrainBatch(batch);
        const w = b.seqLen;
        const flip = (a: Int32Array) => Int32Array.from([...a.subarray(w), ...a.subarray(0, w)]);
        const labels = flip(b.labels);
        for (let r = 0; r < b.batchSize; r++) labels[r * w] = -100;
        return trainBatch({ ...b, inputIds: flip(b.inputIds), attentionMask: flip(b.attentionMask), labels, positionIds: flip(b.positionIds!) });
      },
    });
    const r = new StepRunner(swap, {}, opts);
    await r.start();
    const input = encodeTrainBatch({
      batchSize: 2, seqLen: 3, inputIds: Int32Array.from([1, 2, 3, 4, 5, 0]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0]),
      labels: Int32Array.from([1, 2, 3, 4, 5, -100]), positionIds: Int32Array.from([0, 1, 2, 0, 1, 2]),
    });
    const [out] = await r.process(input);
    const b = decodeTrainBatch(out);
    expect([b.batchSize, b.seqLen]).toEqual([2, 3]);
    expect(Array.from(b.inputIds)).toEqual([4, 5, 0, 1, 2, 3]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 0, 1, 1, 1]);
    expect(Array.from(b.labels)).toEqual([-100, 5, -100, -100, 2, 3]);
    expect(Array.from(b.positionIds!)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(b.segmentIds).toBeUndefined();
    // the input message is not changed
    expect(Array.from(decodeTrainBatch(input).inputIds)).toEqual([1, 2, 3, 4, 5, 0]);
  });

  it('snapshot / restore carry state', async () => {
    const counter = defineActor({
      name: 'counter', input: 'docs', output: 'docs',
      init: () => ({ n: 0 }),
      process: (b, s) => { s.n += b.numRows; return b; },
      snapshot: (s) => ({ n: s.n }),
      restore: (snap) => ({ n: (snap as { n: number }).n }),
    });
    const r = new StepRunner(counter, {}, opts);
    await r.start();
    await r.process(docs(['a', 'b']));
    const snap = r.snapshot();
    expect(snap).toEqual({ n: 2 });
    const r2 = new StepRunner(counter, {}, opts);
    await r2.start(snap);
    await r2.process(docs(['c']));
    expect(r2.snapshot()).toEqual({ n: 3 });
  });
});

describe('defineActor / options', () => {
  it('rejects malformed definitions', () => {
    expect(() => defineActor({ name: 'x y', input: 'docs', output: 'docs', process: (b) => b })).toThrow(/name "x y" must be a word/);
    expect(() => defineActor({ name: 'x', input: 'text' as never, output: 'docs', process: (b) => b })).toThrow(/input must be one of docs, tokens, batches/);
    expect(() => defineActor({ name: 'x', input: 'docs', output: 'docs', process: (b) => b, snapshot: () => null })).toThrow(/snapshot and restore go together/);
  });

  it('options errors name the step, the YAML line and the option', () => {
    const f = defineFilter({ name: 'f', options: z.object({ min_words: z.number().int() }).strict(), keep: () => true });
    expect(() => parseStepOptions(f, { min_words: 'ten' }, "pipeline step 'f' (cfg.yaml:7)")).toThrow(
      /^pipeline step 'f' \(cfg\.yaml:7\): option 'min_words': .*expected number.*, got "ten"$/,
    );
    expect(() => parseStepOptions(f, { min_words: 1, min_word: 1 }, "pipeline step 'f' (cfg.yaml:7)")).toThrow(/cfg\.yaml:7\): options: .*min_word/);
    const none = defineFilter({ name: 'n', keep: () => true });
    expect(() => parseStepOptions(none, { a: 1 }, 'w')).toThrow("w: actor 'n' takes no options, got 'a'");
  });
});
