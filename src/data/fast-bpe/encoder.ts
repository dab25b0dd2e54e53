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
 */
import { stripAround, TokenSplitter } from './added-tokens';
import { BYTE_TO_CHAR, byteLevelString, utf8Bytes } from './byte-level';
import { mergeWord } from './bpe';
import type { MergeTable } from './merge-table';
import type { Scanner } from './scanners';
import type { AddedTokenSpec, FastBpeSpec } from './spec';
import { buildMergeTable, TokenIds } from './token-ids';

export interface FastBpeOptions {
  /** Pieces remembered before the cache is emptied (default 65536). */
  cacheSize?: number;
}

/** Pieces this long or longer are not cached (the reference caches below 256 too). */
const MAX_CACHED_LENGTH = 256;

export class FastBpeEncoder {
  /** model.vocab. */
  private readonly vocab: Map<string, number>;
  /** Added token contents (and their NFC forms) → token; they win over the vocabulary. */
  private readonly addedByText: Map<string, AddedTokenSpec>;
  /** Added token contents as written (the reference adds them to the model's token map). */
  private readonly addedContents: Set<string>;
  private readonly byteIds = new Int32Array(256);
  private readonly merges: MergeTable;
  private readonly ignoreMerges: boolean;
  private readonly nfc: boolean;
  private readonly rawSplitter: TokenSplitter;
  private readonly normalizedSplitter: TokenSplitter;
  private readonly scanner: Scanner | null;
  private readonly regex: RegExp;
  private readonly invert: boolean;
  private readonly addPrefixSpace: boolean;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, number | Int32Array>();

  private out = new Int32Array(1024);
  private len = 0;
  private bytes = new Uint8Array(256);
  private syms = new Int32Array(256);

  constructor(spec: FastBpeSpec, opts: FastBpeOptions = {}) {
    this.cacheSize = opts.cacheSize ?? 65536;
    this.ignoreMerges = spec.ignoreMerges;
    this.nfc = spec.normalizer === 'NFC';
    const pt = spec.preTokenizer;
    this.scanner = pt.scanner;
    this.regex = pt.regex;
    this.invert = pt.kind === 'byte-level' || pt.invert;
    this.addPrefixSpace = pt.kind === 'byte-level' && pt.addPrefixSpace;

    this.vocab = spec.vocab;
    this.addedByText = new Map();
    this.addedContents = new Set();
    const rawContents: string[] = [];
    const normalizedContents: string[] = [];
    for (const t of spec.addedTokens) {
      this.addedContents.add(t.content);
      this.addedByText.set(t.content, t);
      if (t.normalized && this.nfc) {
        const n = t.content.normalize('NFC');
        normalizedContents.push(n);
        this.addedByText.set(n, t);
      } else {
        rawContents.push(t.content);
      }
    }
    this.rawSplitter = new TokenSplitter(rawContents);
    this.normalizedSplitter = new TokenSplitter(normalizedContents);

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

  /** Token ids of `text` without special tokens added around it. */
  encode(text: string): Int32Array {
    this.len = 0;
    const sections = this.rawSplitter.split(text);
    stripAround(sections, this.addedByText);
    for (let s = 0; s < sections.length; s++) {
      let section = sections[s];
      if (section.length === 0) continue;
      if (this.addedByText.has(section)) {
        this.push(this.idOf(section) as number);
        continue;
      }
      if (this.nfc) section = section.normalize('NFC');
      if (section.length === 0) continue;
      const subsections = this.normalizedSplitter.split(section);
      if (subsections.length > 1) stripAround(subsections, this.addedByText);
      for (let k = 0; k < subsections.length; k++) {
        let sub = subsections[k];
        if (sub.length === 0) continue;
        if (this.addedByText.has(sub)) {
          this.push(this.idOf(sub) as number);
          continue;
        }
        if (this.addPrefixSpace && sub.charCodeAt(0) !== 0x20) sub = ' ' + sub;
        if (this.scanner !== null) this.encodeScanned(sub, this.scanner);
        else this.encodeRegex(sub);
      }
    }
    return this.out.slice(0, this.len);
  }

  /** Drops every cached piece. */
  clearCache(): void {
    this.cache.clear();
  }

  private encodeScanned(s: string, scan: Scanner): void {
    const n = s.length;
    const cache = this.cache;
    let i = 0;
    while (i < n) {
      const j = scan(s, i);
      const piece = s.slice(i, j);
      i = j;
      let ids = cache.get(piece);
      if (ids === undefined) ids = this.miss(piece);
      if (typeof ids === 'number') {
        if (this.len === this.out.length) this.grow(1);
        this.out[this.len++] = ids;
      } else {
        this.pushAll(ids);
      }
    }
  }

  private encodeRegex(s: string): void {
    const re = this.regex;
    re.lastIndex = 0;
    let prev = 0;
    for (const m of s.matchAll(re)) {
      const at = m.index;
      if (!this.invert && prev < at) this.piece(s.slice(prev, at));
      if (m[0].length > 0) this.piece(m[0]);
      prev = at + m[0].length;
    }
    if (!this.invert && prev < s.length) this.piece(s.slice(prev));
  }

  private piece(piece: string): void {
    const ids = this.cache.get(piece) ?? this.miss(piece);
    if (typeof ids === 'number') this.push(ids);
    else this.pushAll(ids);
  }

  /** Ids of a piece not in the cache; caches them. */
  private miss(piece: string): number | Int32Array {
    const ids = this.bpe(piece);
    if (piece.length < MAX_CACHED_LENGTH) {
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(piece, ids);
    }
    return ids;
  }

  private bpe(piece: string): number | Int32Array {
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

  private push(id: number): void {
    if (this.len === this.out.length) this.grow(1);
    this.out[this.len++] = id;
  }

  private pushAll(ids: Int32Array): void {
    if (this.len + ids.length > this.out.length) this.grow(ids.length);
    this.out.set(ids, this.len);
    this.len += ids.length;
  }

  private grow(extra: number): void {
    const next = new Int32Array(Math.max(this.out.length * 2, this.len + extra));
    next.set(this.out.subarray(0, this.len));
    this.out = next;
  }
}
