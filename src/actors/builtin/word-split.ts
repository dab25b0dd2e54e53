/**
 * `splitIntoWords`: the words of a text exactly as `splitIntoWordsByRules` (text.ts) gives them, at a
 * fraction of the cost. The rules are ~20 regular-expression passes over the whole text; most of a
 * text is ordinary words between single spaces, and such a word's tokens do not depend on what
 * surrounds it. So:
 *
 *   - sentences are split by a character loop (the same boundaries as `splitSentences`);
 *   - a *simple* chunk (a run of non-space characters that is an ASCII word, perhaps after `(` or
 *     before `) , ; : ? !`) is tokenized directly by `simpleChunk` anywhere before the sentence's
 *     tail, and as the last chunk also before a final period (`lastChunk`): no rule gives such a
 *     chunk other tokens for the white space around it;
 *   - any other *middle* chunk (neither the first of its sentence nor in its tail, with a plain space
 *     on both sides) is tokenized once, alone, by the rules and remembered;
 *   - each run of such held chunks is replaced by one placeholder character, and the rules run over
 *     what is left (sentence starts and ends, odd spacing); the placeholder comes back as a token of
 *     its own and is swapped for the held tokens. A sentence that is all held chunks needs no rules.
 *
 * `forEachWord` gives the words to a sink, a simple chunk's as ranges of the text (gopher_quality
 * counts them without making strings); `splitIntoWords` collects them.
 *
 * Why a middle chunk is context-free: every rule that looks past a chunk's edge looks at (or
 * consumes) only the white-space character there — a plain space or not (quotes after a space,
 * `'s ` before one, ` 'tis`, `wanna` before \s) — or at the sentence's start (`"` → ``) or its tail
 * (a final period or colon/comma followed only by closing brackets/quotes and space). The tail is the
 * last chunk that is not made only of closing characters, and everything after it.
 *
 * Texts this reasoning does not cover go through the rules whole: one holding the placeholder
 * character, or U+017F (ſ, which the rules' case-insensitive matching folds to "s" while their
 * "can this rule match at all" check does not).
 */
import { SENTENCE_JOIN, isPyWs, splitIntoWordsByRules, treebankTokenize } from './text';

/** Stands for a run of held chunks in the text the rules see: inert to every rule, and Latin-1, so the text stays a one-byte string. */
const HOLE = '\u0001';
const LONG_S = '\u017f';
/** Remembered chunks at most (then the memory starts again): bounded, however varied the corpus. */
const MEMO_MAX = 1 << 17;
const memo = new Map<string, readonly string[] | null>();

/** Sentence `[start, end)` ranges, the pieces of `splitSentences` (text.ts), empty ones left out. */
export function sentenceRanges(text: string): number[] {
  const out: number[] = [];
  for (let s = 0; s < text.length; ) {
    readSentence(text, s);
    if (sentenceEnd > s) out.push(s, sentenceEnd);
    s = sentenceNext;
  }
  return out;
}

/** UTF-16 units by kind: white space (isPyWs), an ASCII word character (A–Z a–z 0–9 _), or other (every unit above U+3000 too). */
const OTHER = 0;
const WORD = 1;
const WS = 2;
const KIND = ((): Uint8Array => {
  const t = new Uint8Array(0x3001);
  for (let c = 0; c < t.length; c++) t[c] = isPyWs(c) ? WS : isAsciiWordChar(c) ? WORD : OTHER;
  return t;
})();

/**
 * The chunks of the sentence in work, as triples: start, end, and how many of its units are not
 * ASCII word characters. Reused from sentence to sentence (grown as needed).
 */
let chunks = new Int32Array(3 * 256);
/** Triples in `chunks` (× 3). */
let chunkEnd = 0;
/** Where the sentence read last ends, and where the next one starts. */
let sentenceEnd = 0;
let sentenceNext = 0;

/**
 * Reads the sentence starting at `start` as `splitSentences` cuts it (the first starts at 0, each later
 * one after the white space that ended the one before): it ends after a chunk ending in [.?!] and
 * closing quotes/brackets when white space follows, or at the end of the text. Its chunks (runs of
 * non-space units) go to `chunks`; its end to `sentenceEnd`, where the next starts to `sentenceNext`.
 */
function readSentence(text: string, start: number): void {
  const n = text.length;
  chunkEnd = 0;
  let i = start;
  while (i < n) {
    i = skipWs(text, i, n);
    if (i === n) break;
    const from = i;
    let nonWord = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      const k = c <= 0x3000 ? KIND[c] : OTHER;
      if (k === WS) break;
      if (k === OTHER) nonWord++;
    }
    if (chunkEnd === chunks.length) {
      const more = new Int32Array(chunks.length * 2);
      more.set(chunks);
      chunks = more;
    }
    chunks[chunkEnd] = from;
    chunks[chunkEnd + 1] = i;
    chunks[chunkEnd + 2] = nonWord;
    chunkEnd += 3;
    // A chunk of word characters only cannot end a sentence.
    if (nonWord > 0 && i < n && endsSentence(text, from, i)) {
      sentenceEnd = i;
      sentenceNext = skipWs(text, i, n);
      return;
    }
  }
  sentenceEnd = n;
  sentenceNext = n;
}

/** The first unit at or after `i` that is not white space (or `n`). */
function skipWs(text: string, i: number, n: number): number {
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x3000 || KIND[c] !== WS) break;
  }
  return i;
}

/** `(?<=[.?!]['"’”)\]]*)` at the end of the chunk `[from, to)`. */
function endsSentence(text: string, from: number, to: number): boolean {
  let j = to - 1;
  for (; j >= from; j--) {
    const c = text.charCodeAt(j);
    if (c !== 0x27 && c !== 0x22 && c !== 0x2019 && c !== 0x201d && c !== 0x29 && c !== 0x5d) break;
  }
  if (j < from) return false;
  const c = text.charCodeAt(j);
  return c === 0x2e || c === 0x3f || c === 0x21;
}

/** A chunk made only of the closing characters a final period may be followed by: ] ) } > " ' » ” ’ */
function onlyClosers(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5d && c !== 0x29 && c !== 0x7d && c !== 0x3e && c !== 0x22 && c !== 0x27 && c !== 0xbb && c !== 0x201d && c !== 0x2019) return false;
  }
  return true;
}

/** A middle chunk's tokens (the rules on `HOLE chunk HOLE`), or null when it cannot stand alone. */
function chunkTokens(chunk: string): readonly string[] | null {
  let t = memo.get(chunk);
  if (t === undefined) {
    const all = treebankTokenize(`${HOLE} ${chunk} ${HOLE}`);
    t = all.length >= 2 && all[0] === HOLE && all[all.length - 1] === HOLE ? all.slice(1, -1) : null;
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(chunk, t);
  }
  return t;
}

/** Word characters of the rules (\p{L}\p{N}_), ASCII only: a chunk made of these alone is its own token. */
function isAsciiWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** The rules' contractions that split a run of word characters (cannot → can not, …). */
const CONTRACTION_WORDS = new Set(['cannot', 'gimme', 'gonna', 'gotta', 'lemme', 'wanna']);

/** Whether the word `text[a, b)` is one of CONTRACTION_WORDS in any case (each starts with c, g, l or w). */
function isContraction(text: string, a: number, b: number): boolean {
  if (b - a !== 5 && b - a !== 6) return false;
  const c = text.charCodeAt(a) | 0x20;
  if (c !== 0x63 && c !== 0x67 && c !== 0x6c && c !== 0x77) return false;
  return CONTRACTION_WORDS.has(text.slice(a, b).toLowerCase());
}

/** `) , ; : ? !` after a word: a token of its own in a middle chunk (a space follows, so `,`/`:` split too). */
const isTrailPunct = (c: number): boolean => c === 0x29 || c === 0x2c || c === 0x3b || c === 0x3a || c === 0x3f || c === 0x21;

/**
 * The tokens of the commonest chunks (anywhere before a sentence's tail) without the rules: an ASCII
 * word, optionally after `(` and before one of `) , ; : ? !` — e.g. "(word," → ( word , — held
 * (`hold`) as ranges of the text; false (nothing held) for any other chunk. `nonWord`: how many of the
 * chunk's units are not ASCII word characters (readSentence counts them).
 */
function simpleChunk(text: string, from: number, to: number, nonWord: number): boolean {
  if (nonWord === 0) {
    // Word characters only (the commonest chunk): one token.
    if (isContraction(text, from, to)) return false;
    hold(from, to);
    return true;
  }
  let a = from;
  let b = to;
  const open = text.charCodeAt(a) === 0x28 && b - a > 1;
  if (open) a++;
  const close = b - a > 1 && isTrailPunct(text.charCodeAt(b - 1));
  if (close) b--;
  // `(` and the closing mark are the chunk's only units that are not word characters, or it is not simple.
  if (nonWord !== (open ? 1 : 0) + (close ? 1 : 0)) return false;
  if (isContraction(text, a, b)) return false;
  if (open) hold(from, a);
  hold(a, b);
  if (close) hold(b, to);
  return true;
}

/**
 * The tokens of the last chunk of a sentence that `simpleChunk` takes, or of an ASCII word followed
 * by the sentence's final period ("light." → light .: the rules split a final period off whatever
 * word precedes it), held; false for any other chunk.
 */
function lastChunk(text: string, from: number, to: number, nonWord: number): boolean {
  if (text.charCodeAt(to - 1) !== 0x2e) return simpleChunk(text, from, to, nonWord);
  if (to - from < 2 || !isAsciiWordChar(text.charCodeAt(to - 2))) return false;
  // The period is one of the units that are not word characters.
  if (!simpleChunk(text, from, to - 1, nonWord - 1)) return false;
  hold(to - 1, to);
  return true;
}

/**
 * The words of every hole of the text in work, one after another: a range of the text as its
 * [from, to) pair, or a string (a memorised chunk's token) as [−1 − its index in heldStrings, 0].
 * Reused from text to text (grown as needed): a sink must not split words itself.
 */
let held = new Int32Array(2 * 1024);
let heldLength = 0;

function hold(a: number, b: number): void {
  if (heldLength === held.length) {
    const more = new Int32Array(held.length * 2);
    more.set(held);
    held = more;
  }
  held[heldLength] = a;
  held[heldLength + 1] = b;
  heldLength += 2;
}

/**
 * Receives the words of a text, in order. A word held by the fast path below comes as a range of the
 * text, with no string made for it: `text[from, to)` is then either one ASCII character or a run of
 * ASCII word characters (A–Z a–z 0–9 _). Every other word comes as a string.
 */
export interface WordSink {
  range(text: string, from: number, to: number): void;
  word(w: string): void;
}

/** datatrove `split_into_words(text, "en")`; equal to `splitIntoWordsByRules(text)`. */
export function splitIntoWords(text: string): string[] {
  const words: string[] = [];
  forEachWord(text, {
    range: (t, from, to) => words.push(t.slice(from, to)),
    word: (w) => words.push(w),
  });
  return words;
}

/** The words of `splitIntoWords(text)`, in order, to `sink`. */
export function forEachWord(text: string, sink: WordSink): void {
  if (text.includes(SENTENCE_JOIN)) text = text.replaceAll(SENTENCE_JOIN, ' ');
  if (text.includes(HOLE) || text.includes(LONG_S)) return wordsToSink(splitIntoWordsByRules(text), sink);
  const n = text.length;
  heldLength = 0;
  /** The memorised chunks' tokens held (see `held`). */
  const heldStrings: string[] = [];
  /** Where hole h's words end in `held`. */
  const heldEnd: number[] = [];
  /**
   * Each sentence as the rules would see it: start, end, how many runs of held chunks it has, and each
   * run's start and end (a run → one HOLE). The strings are made only if some sentence needs the rules.
   */
  const marks: number[] = [];
  /** Whether some sentence has text left for the rules (is not a single HOLE). */
  let ruled = false;
  for (let s = 0; s < n; ) {
    readSentence(text, s);
    const start = s;
    const e = sentenceEnd;
    s = sentenceNext;
    if (chunkEnd === 0) continue; // only white space: no words
    const last = chunkEnd - 3;
    let tail = last;
    while (tail >= 0 && onlyClosers(text, chunks[tail], chunks[tail + 1])) tail -= 3;
    // Held: the simple chunks before the tail (and the last one, when it is the tail), and the other middle ones the rules tokenize alone.
    const at = marks.length;
    marks.push(start, e, 0);
    let runStart = -1;
    let runEnd = -1;
    let open = false;
    for (let k = 0; k <= last; k += 3) {
      const from = chunks[k];
      const to = chunks[k + 1];
      let ok: boolean;
      if (k === tail && tail === last) ok = lastChunk(text, from, to, chunks[k + 2]);
      else if (k < tail) {
        ok = simpleChunk(text, from, to, chunks[k + 2]);
        if (!ok && k > 0 && text.charCodeAt(from - 1) === 0x20 && text.charCodeAt(to) === 0x20) {
          const got = chunkTokens(text.slice(from, to));
          if (got !== null) {
            for (const w of got) {
              hold(-1 - heldStrings.length, 0);
              heldStrings.push(w);
            }
            ok = true;
          }
        }
      } else ok = false;
      if (!ok) {
        open = true;
        if (runStart >= 0) {
          marks.push(runStart, runEnd);
          marks[at + 2]++;
          heldEnd.push(heldLength);
          runStart = -1;
        }
        continue;
      }
      if (runStart < 0) runStart = from;
      runEnd = to;
    }
    if (runStart >= 0) {
      marks.push(runStart, runEnd);
      marks[at + 2]++;
      heldEnd.push(heldLength);
    }
    if (open) ruled = true;
  }
  // Every sentence a single hole: its words are the held ones, in order.
  if (!ruled) return heldToSink(text, heldStrings, 0, heldLength, sink);
  const tokens = treebankTokenize(...sentencesOf(text, marks));
  // Every placeholder must come back as a token of its own (it always does; checked anyway, before any word is given out).
  let holes = 0;
  for (const t of tokens) if (t === HOLE) holes++;
  if (holes !== heldEnd.length) return wordsToSink(splitIntoWordsByRules(text), sink);
  let h = 0;
  for (const t of tokens) {
    if (t !== HOLE) sink.word(t);
    else {
      heldToSink(text, heldStrings, h === 0 ? 0 : heldEnd[h - 1], heldEnd[h], sink);
      h++;
    }
  }
}

/** The sentences `marks` describe (see forEachWord), each run of held chunks replaced by one HOLE. */
function sentencesOf(text: string, marks: readonly number[]): string[] {
  const sentences: string[] = [];
  for (let m = 0; m < marks.length; ) {
    const start = marks[m];
    const end = marks[m + 1];
    const runs = marks[m + 2];
    m += 3;
    let sentence = '';
    let copied = start;
    for (let r = 0; r < runs; r++, m += 2) {
      sentence += text.slice(copied, marks[m]) + HOLE;
      copied = marks[m + 1];
    }
    sentences.push(sentence + text.slice(copied, end));
  }
  return sentences;
}

function wordsToSink(words: readonly string[], sink: WordSink): void {
  for (const w of words) sink.word(w);
}

function heldToSink(text: string, heldStrings: readonly string[], from: number, to: number, sink: WordSink): void {
  for (let i = from; i < to; i += 2) {
    const a = held[i];
    if (a >= 0) sink.range(text, a, held[i + 1]);
    else sink.word(heldStrings[-1 - a]);
  }
}
