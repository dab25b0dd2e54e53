/**
 * Random-access rows of a cache split against the in-memory path: the same documents packed with
 * Packer (packDocs) or truncated with truncateIds, as CollatorActor / CacheShardActor build them.
 * The split spans 3 parts of several record batches each, so blocks straddle batches and parts.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { packDocs, truncateIds, type PackedBlock } from '../data/packer';
import { BlockSource, type BlockRules } from './block-source';
import { ensurePartOffsets, offsetsFile, readPartOffsets, scanPartOffsets } from './part-offsets';
import { SplitTokens } from './split-tokens';
import { randomDocs, writeSplit } from './test-cache';
import type { PartFile } from '../../schemas/token-cache';

const FP = 'f'.repeat(64);

async function open(dir: string, parts: PartFile[], rules: BlockRules): Promise<BlockSource> {
  const offsets = [];
  for (const p of parts) offsets.push(await ensurePartOffsets(dir, p, FP));
  return new BlockSource(SplitTokens.open(dir, parts, offsets), rules);
}

const plain = (b: PackedBlock) => ({ inputIds: Array.from(b.inputIds), seg: b.segmentIds && Array.from(b.segmentIds), pos: b.positionIds && Array.from(b.positionIds) });

describe('BlockSource (rows read by offset)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-blocks-'));
  const docs = randomDocs(83, 40, 5);
  let parts: PartFile[];
  beforeAll(async () => {
    parts = await writeSplit(dir, 'train', docs, 3, 5);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('indexes every record batch of every part, reading only message headers', async () => {
    const o = await scanPartOffsets(dir, parts[0], FP);
    expect(o.batches.map((b) => b[0])).toEqual([5, 5, 5, 5, 5, 2]); // 27 documents in batches of 5
    expect(o.documents).toBe(27);
    expect(o.tokens).toBe(docs.slice(0, 27).reduce((a, d) => a + d.length, 0));
  });

  it.each([
    ['packing, BOS written over each block', { cutoffLen: 16, packing: true, neatPacking: false, blockBosId: 7 }],
    ['packing, no BOS', { cutoffLen: 13, packing: true, neatPacking: false }],
    ['neat_packing', { cutoffLen: 16, packing: true, neatPacking: true, blockBosId: 7 }],
    ['neat_packing, block longer than a record batch', { cutoffLen: 200, packing: true, neatPacking: true }],
  ] as const)('%s: the blocks of the in-memory packer', async (_name, rules) => {
    const src = await open(dir, parts, rules);
    const ref = packDocs(docs, rules.cutoffLen, { bosId: 'blockBosId' in rules ? rules.blockBosId : undefined, trackSegments: rules.neatPacking });
    expect(src.count).toBe(ref.blocks.length);
    expect(src.droppedTail).toBe(ref.droppedTokens);
    // out of order, as training reads them
    const order = Array.from({ length: src.count }, (_, i) => (i * 7) % src.count);
    for (const i of order) expect(plain(src.row(i))).toEqual(plain(ref.blocks[i]));
    src.tokens.close();
  });

  it.each([
    ['with BOS', 9, 7],
    ['without BOS', 9, undefined],
    ['cutoff 1 with BOS', 1, 7],
  ] as const)('packing: false, %s: bos + document truncated, as truncateIds', async (_name, cutoff, bos) => {
    const src = await open(dir, parts, { cutoffLen: cutoff, packing: false, neatPacking: false, docBosId: bos });
    expect(src.count).toBe(docs.length);
    for (let i = docs.length - 1; i >= 0; i--) expect(Array.from(src.row(i).inputIds)).toEqual(Array.from(truncateIds(docs[i], cutoff, bos)));
    src.tokens.close();
  });

  it('stores the offsets beside the part and reuses them; an edited offsets file is refused', async () => {
    const file = path.join(dir, offsetsFile(parts[1]));
    expect(fs.existsSync(file)).toBe(true);
    expect(readPartOffsets(dir, parts[1])).toEqual(await scanPartOffsets(dir, parts[1], FP));
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.batches[1][3] += 4; // point a batch's values elsewhere
    fs.writeFileSync(file, JSON.stringify(json));
    await expect(ensurePartOffsets(dir, parts[1], FP)).rejects.toThrow(/offsets\.json was edited \(its content does not match its digest\); delete it to have it rebuilt/);
    // offsets from another cache (other fingerprint) are rebuilt, not trusted
    fs.writeFileSync(file, JSON.stringify(await scanPartOffsets(dir, parts[1], 'a'.repeat(64))));
    expect((await ensurePartOffsets(dir, parts[1], FP)).fingerprint).toBe(FP);
    expect(readPartOffsets(dir, parts[1])!.fingerprint).toBe(FP);
  });
});

describe('a damaged part is refused, never trained on', () => {
  let dir: string;
  let parts: PartFile[];
  const docs = randomDocs(30, 20, 9);
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-blocks-bad-'));
    parts = await writeSplit(dir, 'train', docs, 2, 4);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a truncated part', async () => {
    await ensurePartOffsets(dir, parts[1], FP);
    fs.truncateSync(path.join(dir, parts[1].file), parts[1].bytes - 10);
    await expect(ensurePartOffsets(dir, parts[1], FP)).rejects.toThrow(/part-00001-of-00002\.arrow is truncated: \d+ bytes, the index says \d+/);
  });

  it('a part whose list offsets were edited in place (same size)', async () => {
    const o = await ensurePartOffsets(dir, parts[0], FP);
    const [, , offAt] = o.batches[2];
    const fd = fs.openSync(path.join(dir, parts[0].file), 'r+');
    const b = Buffer.alloc(4);
    b.writeInt32LE(1_000_000);
    fs.writeSync(fd, b, 0, 4, offAt + 8); // third document's start of the third batch
    fs.closeSync(fd);
    const offsets = [o, await ensurePartOffsets(dir, parts[1], FP)];
    const rules = { cutoffLen: 4, packing: false, neatPacking: false };
    const allRows = (src: BlockSource) => () => {
      for (let i = 0; i < src.count; i++) src.row(i);
    };
    // The batch's content checksum refuses it first; without checksums (a cache written before them)
    // the offsets' own checks do.
    const checked = new BlockSource(SplitTokens.open(dir, parts, offsets), rules);
    expect(allRows(checked)).toThrow(/part-00000-of-00002\.arrow: record batch 2 \(rows 8–11\) does not match its checksum/);
    checked.tokens.close();
    const src = new BlockSource(SplitTokens.open(dir, parts, offsets, { checksums: false }), rules);
    expect(allRows(src)).toThrow(/part-00000-of-00002\.arrow: the list offsets of a record batch do not match its offsets index/);
    src.tokens.close();
  });

  it('a part that holds other documents than the index says', async () => {
    await expect(ensurePartOffsets(dir, { ...parts[0], documents: parts[0].documents + 1 }, FP)).rejects.toThrow(
      /holds 15 documents \/ \d+ tokens, the index says 16/,
    );
  });
});
