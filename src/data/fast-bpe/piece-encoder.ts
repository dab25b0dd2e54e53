/**
 * What the byte-level and the SentencePiece-style encoders share: the added-token passes of the
 * reference (cut out tokens matched before normalization, lstrip/rstrip, normalize the rest, cut
 * out normalized tokens), the bounded piece → ids cache, and the growing output buffer.
 *
 *   class X extends PieceEncoder { normalizeSection(section); encodeText(text, sectionIndex); bpe(piece) }
 *   x.encode(text) → Int32Array;  x.clearCache()
 *
 * A subclass splits `encodeText`'s text into pieces and hands each to `emit`.
 */
import { stripAround, TokenSplitter } from './added-tokens';
import type { AddedTokenSpec } from './spec';

/** Pieces this long or longer are not cached (the reference caches below 256 too). */
const MAX_CACHED_LENGTH = 256;

export abstract class PieceEncoder {
  /** Added token contents (and their normalized forms) → token; they win over the vocabulary. */
  protected readonly addedByText = new Map<string, AddedTokenSpec>();
  private readonly rawSplitter: TokenSplitter;
  private readonly normalizedSplitter: TokenSplitter;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, number | Int32Array>();

  private out = new Int32Array(1024);
  private len = 0;

  /**
   * @param normalizeAdded the normalizer applied to added tokens marked `normalized`, or null when
   *   the text is not normalized (every added token is then matched before normalization)
   */
  constructor(addedTokens: readonly AddedTokenSpec[], normalizeAdded: ((text: string) => string) | null, cacheSize = 65536) {
    this.cacheSize = cacheSize;
    const rawContents: string[] = [];
    const normalizedContents: string[] = [];
    for (const t of addedTokens) {
      this.addedByText.set(t.content, t);
      if (t.normalized && normalizeAdded !== null) {
        const n = normalizeAdded(t.content);
        normalizedContents.push(n);
        this.addedByText.set(n, t);
      } else {
        rawContents.push(t.content);
      }
    }
    this.rawSplitter = new TokenSplitter(rawContents);
    this.normalizedSplitter = new TokenSplitter(normalizedContents);
  }

  /** Token ids of `text` without special tokens added around it. */
  encode(text: string): Int32Array {
    this.len = 0;
    const sections = this.rawSplitter.split(text);
    stripAround(sections, this.addedByText);
    for (let s = 0; s < sections.length; s++) {
      let section = sections[s];
      if (section.length === 0) continue;
      const added = this.addedByText.get(section);
      if (added !== undefined) {
        this.push(added.id);
        continue;
      }
      section = this.normalizeSection(section);
      if (section.length === 0) continue;
      const subsections = this.normalizedSplitter.split(section);
      if (subsections.length > 1) stripAround(subsections, this.addedByText);
      for (let k = 0; k < subsections.length; k++) {
        const sub = subsections[k];
        if (sub.length === 0) continue;
        const addedSub = this.addedByText.get(sub);
        if (addedSub !== undefined) {
          this.push(addedSub.id);
          continue;
        }
        this.encodeText(sub, s);
      }
    }
    return this.out.slice(0, this.len);
  }

  /** Drops every cached piece. */
  clearCache(): void {
    this.cache.clear();
  }

  /** A section that is not an added token, normalized (or returned as it is). */
  protected abstract normalizeSection(section: string): string;

  /** Ids of a normalized text between added tokens, through `emit` (`sectionIndex`: its raw section). */
  protected abstract encodeText(text: string, sectionIndex: number): void;

  /** Ids of one piece: a single id, or several. */
  protected abstract bpe(piece: string): number | Int32Array;

  /** Appends a piece's ids, from the cache or else merged (and cached). */
  protected emit(piece: string): void {
    let ids = this.cache.get(piece);
    if (ids === undefined) ids = this.miss(piece);
    if (typeof ids === 'number') {
      if (this.len === this.out.length) this.grow(1);
      this.out[this.len++] = ids;
    } else {
      this.pushAll(ids);
    }
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
