/**
 * The training rows of a cache split, by index, read on demand: exactly the rows the in-memory collator
 * builds from the same documents (actors/CollatorActor.ts with src/data/packer.ts), without holding them.
 *
 *   packing: true    row i = tokens [i·L, (i+1)·L) of the split's token stream (documents concatenated in
 *                    order; only the final tail < L is dropped), its first token overwritten with BOS when
 *                    the tokenizer adds one; with neat_packing, segment and position ids restart at every
 *                    document start inside the row (Packer's rule)
 *   packing: false   row i = document i as `bos + text + eos` (BOS only when the tokenizer adds it),
 *                    truncated to L (truncateIds)
 *
 *   const src = new BlockSource(splitTokens, rules);  src.count;  src.row(i) → PackedBlock;  src.verify(i)
 */
import type { PackedBlock } from '../data/packer';
import { PtflowError } from '../errors';
import type { SplitTokens } from './split-tokens';

export interface BlockRules {
  cutoffLen: number;
  packing: boolean;
  neatPacking: boolean;
  /** packing: true — written over each block's first token (blockBosId). */
  blockBosId?: number;
  /** packing: false — prepended to each document (the tokenizer's BOS when it adds one). */
  docBosId?: number;
}

export class BlockSource {
  readonly count: number;

  constructor(
    readonly tokens: SplitTokens,
    readonly rules: BlockRules,
  ) {
    const L = rules.cutoffLen;
    if (!Number.isInteger(L) || L < 1) throw new PtflowError(`cutoff_len must be a positive integer, got ${L}`, 2);
    this.count = rules.packing ? Math.floor(tokens.tokens / L) : tokens.documents;
  }

  /** Tokens of the split that no row holds (packing: the final tail). */
  get droppedTail(): number {
    return this.rules.packing ? this.tokens.tokens - this.count * this.rules.cutoffLen : 0;
  }

  row(i: number): PackedBlock {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new Error(`internal: row ${i} outside 0..${this.count - 1}`);
    return this.rules.packing ? this.packed(i) : this.truncated(i);
  }

  /** The content checks `row(i)` would do (split-tokens.ts), without reading the row. */
  verify(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new Error(`internal: row ${i} outside 0..${this.count - 1}`);
    const L = this.rules.cutoffLen;
    if (this.rules.packing) this.tokens.verifyRange(i * L, (i + 1) * L);
    else this.tokens.docSpan(i); // a document lies in one record batch, which docSpan verifies
  }

  private packed(i: number): PackedBlock {
    const L = this.rules.cutoffLen;
    const inputIds = new Int32Array(L);
    this.tokens.readTokens(i * L, inputIds);
    if (this.rules.blockBosId !== undefined) inputIds[0] = this.rules.blockBosId;
    if (!this.rules.neatPacking) return { inputIds };
    const segmentIds = new Int32Array(L);
    const positionIds = new Int32Array(L);
    const starts = this.tokens.docStartsIn(i * L, (i + 1) * L);
    let next = 0;
    let seg = 1;
    let p = 0;
    for (let k = 0; k < L; k++) {
      if (next < starts.length && starts[next] === i * L + k) {
        next++;
        seg++;
        p = 0;
      }
      segmentIds[k] = seg;
      positionIds[k] = p++;
    }
    return { inputIds, segmentIds, positionIds };
  }

  private truncated(i: number): PackedBlock {
    const { start, end } = this.tokens.docSpan(i);
    const bos = this.rules.docBosId;
    const extra = bos === undefined ? 0 : 1;
    const len = Math.min(this.rules.cutoffLen, end - start + extra);
    const inputIds = new Int32Array(len);
    if (bos !== undefined) inputIds[0] = bos;
    this.tokens.readTokens(start, inputIds.subarray(extra));
    return { inputIds };
  }
}
