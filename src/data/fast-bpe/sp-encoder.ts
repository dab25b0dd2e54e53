/**
 * The fast SentencePiece-style BPE encoder (Llama-2 / Mistral tokenizer.json): token ids identical
 * to @huggingface/tokenizers' `encode(text, { add_special_tokens: false })` for the files
 * `analyzeSentencePiece` accepts.
 *
 *   const enc = new SentencePieceEncoder(spec, { cacheSize? });
 *   enc.encode(text) → Int32Array
 *
 * Pipeline (the reference's): cut out added tokens matched before normalization, apply
 * lstrip/rstrip, turn spaces into "▁" with a leading "▁" (normalizer, or Metaspace), cut out
 * normalized added tokens. The reference then merges each section as ONE word; since no token
 * has "▁" after another character, no merge crosses a "▁" that follows a non-"▁" character, so
 * the section is cut before each such "▁" and every piece ("▁▁word…") merges alone, through a
 * bounded cache. Merging runs over code points; a code point outside the vocabulary never merges
 * and comes out as its UTF-8 bytes' `<0xNN>` tokens (byte fallback). The added-token passes, the
 * cache and the output buffer are PieceEncoder's (piece-encoder.ts).
 */
import { mergeWord } from './bpe';
import type { MergeTable } from './merge-table';
import { PieceEncoder } from './piece-encoder';
import { BYTE_TOKENS, type SentencePieceSpec, SPACE_MARK, type SpacesSpec } from './sp-spec';
import { buildMergeTable, TokenIds } from './token-ids';

export interface SentencePieceOptions {
  /** Pieces remembered before the cache is emptied (default 65536). */
  cacheSize?: number;
}

const MARK = 0x2581;

/** Symbol for a code point outside the vocabulary: never merges (ids are ≥ 0, -1 marks empty slots). */
const unknownSymbol = (cp: number): number => -2 - cp;

export class SentencePieceEncoder extends PieceEncoder {
  private readonly spaces: SpacesSpec;
  private readonly merges: MergeTable;
  /** UTF-16 unit (BMP code point) → symbol id, -1 when not in the vocabulary. */
  private readonly bmpIds = new Int32Array(0x10000).fill(-1);
  /** Astral code point → symbol id. */
  private readonly astralIds = new Map<number, number>();
  private readonly byteIds = new Int32Array(256);

  private syms = new Int32Array(256);

  constructor(spec: SentencePieceSpec, opts: SentencePieceOptions = {}) {
    super(spec.addedTokens, spec.spaces.kind === 'normalizer' ? SentencePieceEncoder.normalize : null, opts.cacheSize);
    this.spaces = spec.spaces;

    const ids = new TokenIds(spec.vocab, this.addedByText);
    const symbol = (token: string): void => {
      const id = ids.resolve(token);
      if (id === undefined) return;
      ids.claim(token, id);
      if (token.length === 1) this.bmpIds[token.charCodeAt(0)] = id;
      else this.astralIds.set(token.codePointAt(0) as number, id);
    };
    for (const token of spec.vocab.keys()) if (isOneCodePoint(token)) symbol(token);
    for (const token of this.addedByText.keys()) if (isOneCodePoint(token)) symbol(token);
    for (let b = 0; b < 256; b++) {
      const id = ids.resolve(BYTE_TOKENS[b]);
      if (id === undefined) throw new Error(`byte-fallback token ${BYTE_TOKENS[b]} is not in the vocabulary`);
      this.byteIds[b] = id;
    }
    this.merges = buildMergeTable(spec.merges, ids);
  }

  /** The normalizer of the legacy layout: a leading "▁", every " " as "▁". */
  static normalize(text: string): string {
    return SPACE_MARK + text.replaceAll(' ', SPACE_MARK);
  }

  protected normalizeSection(section: string): string {
    return this.spaces.kind === 'normalizer' ? SentencePieceEncoder.normalize(section) : section;
  }

  protected encodeText(text: string, sectionIndex: number): void {
    this.encodeWord(this.spaces.kind === 'metaspace' ? this.metaspace(text, sectionIndex) : text);
  }

  private metaspace(text: string, sectionIndex: number): string {
    const t = text.replaceAll(' ', SPACE_MARK);
    if (t.charCodeAt(0) === MARK || this.spaces.kind !== 'metaspace') return t;
    const scheme = this.spaces.prepend;
    return scheme === 'always' || (scheme === 'first' && sectionIndex === 0) ? SPACE_MARK + t : t;
  }

  /** One reference word, cut before every "▁" that follows another character. */
  private encodeWord(s: string): void {
    const n = s.length;
    let start = 0;
    while (start < n) {
      let p = start;
      while (p < n && s.charCodeAt(p) === MARK) p++;
      let end = p < n ? s.indexOf(SPACE_MARK, p) : n;
      if (end < 0) end = n;
      const piece = start === 0 && end === n ? s : s.slice(start, end);
      start = end;
      this.emit(piece);
    }
  }

  protected bpe(piece: string): number | Int32Array {
    if (this.syms.length < piece.length) this.syms = new Int32Array(piece.length * 2);
    const syms = this.syms;
    const len = piece.length;
    let n = 0;
    let unknownBytes = 0;
    for (let i = 0; i < len; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
        const d = piece.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          i++;
          const id = this.astralIds.get(cp);
          if (id !== undefined) syms[n++] = id;
          else {
            syms[n++] = unknownSymbol(cp);
            unknownBytes += 3;
          }
          continue;
        }
      }
      const id = this.bmpIds[c];
      if (id >= 0) syms[n++] = id;
      else {
        syms[n++] = unknownSymbol(c);
        unknownBytes += utf8Length(c) - 1;
      }
    }
    const m = mergeWord(syms, n, this.merges);
    if (m === 1 && syms[0] >= 0) return syms[0];
    const ids = new Int32Array(m + unknownBytes);
    let k = 0;
    for (let j = 0; j < m; j++) {
      const sym = syms[j];
      if (sym >= 0) ids[k++] = sym;
      else k = this.byteFallback(-2 - sym, ids, k);
    }
    return k === ids.length ? ids : ids.slice(0, k);
  }

  /** `<0xNN>` ids of the code point's UTF-8 bytes (lone surrogates as U+FFFD, like TextEncoder). */
  private byteFallback(cp: number, ids: Int32Array, k: number): number {
    const b = this.byteIds;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) ids[k++] = b[cp];
    else if (cp < 0x800) {
      ids[k++] = b[0xc0 | (cp >> 6)];
      ids[k++] = b[0x80 | (cp & 0x3f)];
    } else if (cp < 0x10000) {
      ids[k++] = b[0xe0 | (cp >> 12)];
      ids[k++] = b[0x80 | ((cp >> 6) & 0x3f)];
      ids[k++] = b[0x80 | (cp & 0x3f)];
    } else {
      ids[k++] = b[0xf0 | (cp >> 18)];
      ids[k++] = b[0x80 | ((cp >> 12) & 0x3f)];
      ids[k++] = b[0x80 | ((cp >> 6) & 0x3f)];
      ids[k++] = b[0x80 | (cp & 0x3f)];
    }
    return k;
  }
}

/** Whether `s` is exactly one code point (a lone surrogate counts, as in Array.from). */
function isOneCodePoint(s: string): boolean {
  if (s.length === 1) return true;
  if (s.length !== 2) return false;
  const c = s.charCodeAt(0);
  const d = s.charCodeAt(1);
  return c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff;
}

/** UTF-8 length of a BMP code unit as TextEncoder writes it (surrogates become U+FFFD: 3 bytes). */
function utf8Length(c: number): number {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
}
