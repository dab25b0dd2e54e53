import { tableFromIPC } from 'apache-arrow';
import { decodeRawDocs, encodeRawDocs } from './raw-docs';
import { decodeTokenizedDocs, encodeTokenizedDocs } from './tokenized-docs';
import { decodePackedBlocks, encodePackedBlocks } from './packed-blocks';
import { decodeTrainBatch, encodeTrainBatch } from './train-batch';
import { collate } from '../src/data/collate';
import { packDocs } from '../src/data/packer';
import { PtflowError } from '../src/errors';

const I = (xs: number[]) => Int32Array.from(xs);

describe('RawDocs', () => {
  it('round-trips ids (Int64), sources (dictionary) and unicode text', () => {
    const docs = [
      { docId: 0, source: '/d/a.jsonl', text: 'héllo 🌍' },
      { docId: 2 ** 40, source: '/d/b.txt', text: '' },
      { docId: 7, source: '/d/a.jsonl', text: 'line\nbreak' },
    ];
    const bytes = encodeRawDocs(docs);
    expect(bytes).toBeInstanceOf(ArrayBuffer);
    const d = decodeRawDocs(bytes);
    expect(Array.from(d.docIds, Number)).toEqual([0, 2 ** 40, 7]);
    expect(d.sources).toEqual(['/d/a.jsonl', '/d/b.txt', '/d/a.jsonl']);
    expect(d.texts).toEqual(docs.map((x) => x.text));
    expect(d.docIds.buffer).toBe(bytes); // a view, not a copy
    // the dictionary stores each source once
    const t = tableFromIPC(new Uint8Array(bytes));
    expect(t.getChild('source')!.data[0].dictionary!.length).toBe(2);
  });

  it('an empty batch round-trips', () => {
    const d = decodeRawDocs(encodeRawDocs([]));
    expect(d).toEqual({ docIds: new BigInt64Array(0), sources: [], texts: [] });
  });
});

describe('TokenizedDocs', () => {
  it('round-trips variable-length lists as views on the message buffer', () => {
    const ids = [I([1, 2, 3]), I([]), I([4, 5])];
    const bytes = encodeTokenizedDocs([10, 11, 12], ids);
    const d = decodeTokenizedDocs(bytes);
    expect(d.inputIds.map((a) => Array.from(a))).toEqual([[1, 2, 3], [], [4, 5]]);
    expect(Array.from(d.offsets)).toEqual([0, 3, 3, 5]);
    expect(Array.from(d.values)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(d.docIds, Number)).toEqual([10, 11, 12]);
    expect(d.values.buffer).toBe(bytes);
    expect(d.inputIds[2].buffer).toBe(bytes);
  });

  it('passes decoded RawDocs ids straight through', () => {
    const raw = decodeRawDocs(encodeRawDocs([{ docId: 3, source: 's', text: 'x' }]));
    const d = decodeTokenizedDocs(encodeTokenizedDocs(raw.docIds, [I([9])]));
    expect(Array.from(d.docIds, Number)).toEqual([3]);
    expect(() => encodeTokenizedDocs([1, 2], [I([1])])).toThrow(/2 doc ids for 1 documents/);
  });
});

describe('PackedBlocks', () => {
  it('round-trips blocks with segment and position ids as one flat view per column', () => {
    const { blocks } = packDocs([I([1, 2, 3]), I([4, 5]), I([6, 7, 8, 9, 10])], 4, { trackSegments: true });
    const bytes = encodePackedBlocks(blocks);
    const d = decodePackedBlocks(bytes);
    expect(d.cutoffLen).toBe(4);
    expect(d.numBlocks).toBe(2);
    expect(Array.from(d.inputIds)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(d.segmentIds!)).toEqual([1, 1, 1, 2, 1, 2, 2, 2]);
    expect(Array.from(d.positionIds!)).toEqual([0, 1, 2, 0, 0, 0, 1, 2]);
    expect(d.blocks.map((b) => Array.from(b.inputIds))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(d.inputIds.buffer).toBe(bytes);
    expect(d.blocks[1].segmentIds!.buffer).toBe(bytes);
  });

  it('without segments there are no segment columns; an empty message keeps cutoffLen', () => {
    const d = decodePackedBlocks(encodePackedBlocks(packDocs([I([1, 2, 3, 4])], 2).blocks));
    expect(d.segmentIds).toBeUndefined();
    expect(d.numBlocks).toBe(2);
    const e = decodePackedBlocks(encodePackedBlocks([], { cutoffLen: 8 }));
    expect([e.numBlocks, e.cutoffLen]).toEqual([0, 8]);
  });
});

describe('TrainBatch', () => {
  it('round-trips a MicroBatch; decoding gives views on the message buffer (no copy)', () => {
    const batch = collate([I([1, 2, 3]), I([4, 2])], 2);
    const bytes = encodeTrainBatch(batch);
    const d = decodeTrainBatch(bytes);
    expect([d.batchSize, d.seqLen]).toEqual([2, 3]);
    expect(Array.from(d.inputIds)).toEqual(Array.from(batch.inputIds));
    expect(Array.from(d.attentionMask)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(Array.from(d.labels)).toEqual([1, 2, 3, 4, 2, -100]);
    expect(d.positionIds).toBeUndefined();
    for (const a of [d.inputIds, d.attentionMask, d.labels]) expect(a.buffer).toBe(bytes);
    // a view really aliases the bytes: writing through it changes the buffer
    const before = new Int32Array(bytes, d.inputIds.byteOffset, 1)[0];
    d.inputIds[0] = 77;
    expect(new Int32Array(bytes, d.inputIds.byteOffset, 1)[0]).toBe(77);
    expect(before).toBe(1);
  });

  it('carries optional position and segment ids; decodes from a Uint8Array at an offset', () => {
    const { blocks } = packDocs([I([1, 2, 3]), I([4, 5, 6])], 3, { trackSegments: true });
    const bytes = new Uint8Array(encodeTrainBatch(collate(blocks, 0)));
    const shifted = new Uint8Array(bytes.length + 8);
    shifted.set(bytes, 8);
    const d = decodeTrainBatch(shifted.subarray(8));
    expect(Array.from(d.segmentIds!)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(d.positionIds!)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('rejects other messages, garbage, and bad shapes', () => {
    const raw = encodeRawDocs([{ docId: 1, source: 's', text: 't' }]);
    expect(() => decodeTrainBatch(raw)).toThrow(/TrainBatch message: schema metadata says "RawDocs"/);
    expect(() => decodeTrainBatch(new Uint8Array([1, 2, 3, 4]))).toThrow(PtflowError);
    expect(() => encodeTrainBatch({ batchSize: 2, seqLen: 2, inputIds: I([1, 2, 3]), labels: I([1, 2, 3, 4]), attentionMask: I([1, 1, 1, 1]) })).toThrow(
      /inputIds has 3 values, expected 2 × 2/,
    );
  });
});
