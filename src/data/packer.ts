/**
 * Packing tokenized documents into training blocks (`packing: true`, LLaMA-Factory's pretrain
 * processor) and truncating them (`packing: false`).
 *
 *   new Packer(cutoffLen, { bosId?, trackSegments? })
 *     push(ids) → PackedBlock[]   blocks of exactly cutoffLen completed by this document
 *     flush() → number            drops the unfinished tail, returns its token count
 *     state() / restore(state)    the carry-over, for resuming mid-stream
 *   truncateDoc(text, tokenizer, cutoffLen) → Int32Array     packing: false (reference form, from text)
 *   truncateIds(ids, cutoffLen, bosId?) → Int32Array         the same on docs already tokenized with EOS
 *
 * Documents are concatenated and cut into blocks; the remainder carries over to the next push
 * (LLaMA-Factory drops the remainder of every 1000-document map batch; ptflow drops only the final
 * tail). With `bosId` the first token of every block is overwritten with BOS, as the reference does
 * when the tokenizer adds BOS. With `trackSegments`, each block also gets `segmentIds` (1, 2, … per
 * document piece inside the block, for cross-document attention masking) and `positionIds`
 * (restarting at 0 at the block start and at every document start).
 */
import { PtflowError } from '../errors';
import type { Tokenizer } from './tokenizer';

export interface PackerOptions {
  bosId?: number;
  trackSegments?: boolean;
}

export interface PackedBlock {
  inputIds: Int32Array;
  segmentIds?: Int32Array;
  positionIds?: Int32Array;
}

/** Serialisable carry-over: the unfinished block's tokens and where documents start in it. */
export interface PackerState {
  cutoffLen: number;
  carry: number[];
  docStarts: number[];
}

export class Packer {
  private block: Int32Array;
  private starts: Uint8Array;
  private filled = 0;
  private readonly bosId: number | undefined;
  private readonly trackSegments: boolean;

  constructor(
    readonly cutoffLen: number,
    opts: PackerOptions = {},
  ) {
    if (!Number.isInteger(cutoffLen) || cutoffLen < 1) throw new PtflowError(`cutoff_len must be a positive integer, got ${cutoffLen}`, 2);
    this.bosId = opts.bosId;
    this.trackSegments = opts.trackSegments ?? false;
    this.block = new Int32Array(cutoffLen);
    this.starts = new Uint8Array(cutoffLen);
  }

  /** Tokens waiting for the next block. */
  get pending(): number {
    return this.filled;
  }

  /** Add one document's token ids; returns the blocks it completed (possibly none). */
  push(ids: ArrayLike<number>): PackedBlock[] {
    const out: PackedBlock[] = [];
    let pos = 0;
    const n = ids.length;
    if (n === 0) return out;
    this.starts[this.filled] = 1;
    while (pos < n) {
      const take = Math.min(this.cutoffLen - this.filled, n - pos);
      if (ids instanceof Int32Array) this.block.set(ids.subarray(pos, pos + take), this.filled);
      else for (let i = 0; i < take; i++) this.block[this.filled + i] = ids[pos + i];
      this.filled += take;
      pos += take;
      if (this.filled === this.cutoffLen) out.push(this.emit());
    }
    return out;
  }

  /** Drop the unfinished tail (end of data); returns how many tokens were dropped. */
  flush(): number {
    const dropped = this.filled;
    this.filled = 0;
    this.starts.fill(0);
    return dropped;
  }

  state(): PackerState {
    const docStarts: number[] = [];
    for (let i = 0; i < this.filled; i++) if (this.starts[i]) docStarts.push(i);
    return { cutoffLen: this.cutoffLen, carry: Array.from(this.block.subarray(0, this.filled)), docStarts };
  }

  restore(state: PackerState): void {
    if (state.cutoffLen !== this.cutoffLen) {
      throw new PtflowError(`packer state was saved with cutoff_len ${state.cutoffLen}, but cutoff_len is now ${this.cutoffLen}`, 2);
    }
    if (state.carry.length >= this.cutoffLen || state.docStarts.some((s) => !Number.isInteger(s) || s < 0 || s >= state.carry.length)) {
      throw new PtflowError(`invalid packer state: ${state.carry.length} carried tokens, document starts ${JSON.stringify(state.docStarts)}`);
    }
    this.flush();
    this.block.set(state.carry);
    this.filled = state.carry.length;
    for (const s of state.docStarts) this.starts[s] = 1;
  }

  private emit(): PackedBlock {
    const inputIds = this.block;
    if (this.bosId !== undefined) inputIds[0] = this.bosId;
    const out: PackedBlock = { inputIds };
    if (this.trackSegments) {
      const segmentIds = new Int32Array(this.cutoffLen);
      const positionIds = new Int32Array(this.cutoffLen);
      let seg = 1;
      let p = 0;
      for (let i = 0; i < this.cutoffLen; i++) {
        if (i > 0 && this.starts[i]) {
          seg++;
          p = 0;
        }
        segmentIds[i] = seg;
        positionIds[i] = p++;
      }
      out.segmentIds = segmentIds;
      out.positionIds = positionIds;
    }
    this.block = new Int32Array(this.cutoffLen);
    this.starts.fill(0);
    this.filled = 0;
    return out;
  }
}

/**
 * `packing: false`, reference form: one document → `bos_token + text + eos_token` (BOS only when the
 * tokenizer adds it), tokenized as text and truncated to `cutoffLen` tokens, as LLaMA-Factory does.
 */
export function truncateDoc(
  text: string,
  tokenizer: Pick<Tokenizer, 'encode' | 'addBosToken' | 'bosToken' | 'eosToken'>,
  cutoffLen: number,
): Int32Array {
  const prefix = tokenizer.addBosToken && tokenizer.bosToken !== undefined ? tokenizer.bosToken : '';
  const ids = tokenizer.encode(prefix + text + tokenizer.eosToken);
  return ids.length > cutoffLen ? ids.slice(0, cutoffLen) : ids;
}

/**
 * `packing: false` on already tokenized documents (`encodeDoc`: text + eos): prepend `bosId` when
 * given, then keep the first `cutoffLen` tokens. The same ids as `truncateDoc`, because a special
 * token written as text is split out before normalisation and tokenizes to its id alone.
 */
export function truncateIds(ids: Int32Array, cutoffLen: number, bosId?: number): Int32Array {
  if (!Number.isInteger(cutoffLen) || cutoffLen < 1) throw new PtflowError(`cutoff_len must be a positive integer, got ${cutoffLen}`, 2);
  const extra = bosId === undefined ? 0 : 1;
  const len = Math.min(cutoffLen, ids.length + extra);
  const out = new Int32Array(len);
  if (bosId !== undefined) out[0] = bosId;
  out.set(ids.subarray(0, len - extra), extra);
  return out;
}

/** Pack a whole list of documents (non-streaming); the final tail is dropped. */
export function packDocs(docs: readonly ArrayLike<number>[], cutoffLen: number, opts: PackerOptions = {}): { blocks: PackedBlock[]; droppedTokens: number } {
  const packer = new Packer(cutoffLen, opts);
  const blocks: PackedBlock[] = [];
  for (const d of docs) for (const b of packer.push(d)) blocks.push(b);
  return { blocks, droppedTokens: packer.flush() };
}
