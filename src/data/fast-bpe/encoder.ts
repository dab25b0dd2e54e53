/**
 * The fast byte-level BPE encoder: token ids identical to @huggingface/tokenizers'
 * `encode(text, { add_special_tokens: false })` for the tokenizers `analyzeTokenizer` accepts.
 *
 *   const enc = new FastBpeEncoder(spec, { cacheSize? });
 *   enc.encode(text) → Int32Array
 *
 * Pipeline (the reference's, step by step): cut out added tokens that are matched before
 * normalization, apply lstrip/rstrip, normalize (NFC) the rest, cut out normalized added tokens,
 * split into pieces (hand-written scanner or the reference's compiled regex), and turn each piece
 * into ids: a bounded cache of piece → ids, else UTF-8 bytes → byte-level symbols → merges.
 * The added-token passes, the cache and the output buffer are PieceEncoder's (piece-encoder.ts).
 */
import { BYTE_TO_CHAR, byteLevelString, utf8Bytes } from './byte-level';
import { mergeWord } from './bpe';
import type { MergeTable } from './merge-table';
import { PieceEncoder } from './piece-encoder';
import type { Scanner } from './scanners';
import type { FastBpeSpec } from './spec';
import { buildMergeTable, TokenIds } from './token-ids';

export interface FastBpeOptions {
  /** Pieces remembered before the cache is emptied (default 65536). */
  cacheSize?: number;
}

const nfc = (text: string): string => text.normalize('NFC');

export class FastBpeEncoder extends PieceEncoder {
  /** model.vocab. */
  private readonly vocab: Map<string, number>;
  /** Added token contents as written (the reference adds them to the model's token map). */
  private readonly addedContents: Set<string>;
  private readonly byteIds = new Int32Array(256);
  private readonly merges: MergeTable;
  private readonly ignoreMerges: boolean;
  private readonly nfc: boolean;
  private readonly scanner: Scanner | null;
  private readonly regex: RegExp;
  private readonly invert: boolean;
  private readonly addPrefixSpace: boolean;

  private bytes = new Uint8Array(256);
  private syms = new Int32Array(256);

  constructor(spec: FastBpeSpec, opts: FastBpeOptions = {}) {
    super(spec.addedTokens, spec.normalizer === 'NFC' ? nfc : null, opts.cacheSize);
    this.ignoreMerges = spec.ignoreMerges;
    this.nfc = spec.normalizer === 'NFC';
    const pt = spec.preTokenizer;
    this.scanner = pt.scanner;
    this.regex = pt.regex;
    this.invert = pt.kind === 'byte-level' || pt.invert;
    this.addPrefixSpace = pt.kind === 'byte-level' && pt.addPrefixSpace;

    this.vocab = spec.vocab;
    this.addedContents = new Set(spec.addedTokens.map((t) => t.content));

    const ids = new TokenIds(this.vocab, this.addedByText);
    for (let b = 0; b < 256; b++) {
      const symbol = String.fromCharCode(BYTE_TO_CHAR[b]);
      const id = ids.resolve(symbol);
      if (id === undefined) throw new Error(`byte-level symbol for byte ${b} is not in the vocabulary`);
      ids.claim(symbol, id);
      this.byteIds[b] = id;
    }
    this.merges = buildMergeTable(spec.merges, ids);
  }

  protected normalizeSection(section: string): string {
    return this.nfc ? section.normalize('NFC') : section;
  }

  protected encodeText(text: string): void {
    const sub = this.addPrefixSpace && text.charCodeAt(0) !== 0x20 ? ' ' + text : text;
    if (this.scanner !== null) this.encodeScanned(sub, this.scanner);
    else this.encodeRegex(sub);
  }

  private encodeScanned(s: string, scan: Scanner): void {
    const n = s.length;
    let i = 0;
    while (i < n) {
      const j = scan(s, i);
      this.emit(s.slice(i, j));
      i = j;
    }
  }

  private encodeRegex(s: string): void {
    const re = this.regex;
    re.lastIndex = 0;
    let prev = 0;
    for (const m of s.matchAll(re)) {
      const at = m.index;
      if (!this.invert && prev < at) this.emit(s.slice(prev, at));
      if (m[0].length > 0) this.emit(m[0]);
      prev = at + m[0].length;
    }
    if (!this.invert && prev < s.length) this.emit(s.slice(prev));
  }

  protected bpe(piece: string): number | Int32Array {
    if (this.bytes.length < piece.length * 3) {
      this.bytes = new Uint8Array(piece.length * 3);
      this.syms = new Int32Array(piece.length * 3);
    }
    const bytes = this.bytes;
    const n = utf8Bytes(piece, bytes);
    if (this.ignoreMerges) {
      const word = byteLevelString(bytes, n);
      if (this.vocab.has(word) || this.addedContents.has(word)) return this.idOf(word) as number;
    }
    const syms = this.syms;
    for (let k = 0; k < n; k++) syms[k] = this.byteIds[bytes[k]];
    const m = mergeWord(syms, n, this.merges);
    return m === 1 ? syms[0] : syms.slice(0, m);
  }

  /** A token string's id as the reference resolves it: added tokens first, then the vocabulary. */
  private idOf(token: string): number | undefined {
    return this.addedByText.get(token)?.id ?? this.vocab.get(token);
  }
}
