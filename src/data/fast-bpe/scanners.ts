/**
 * Hand-written pre-tokenizer scanners, each equivalent to one regex that Hugging Face byte-level
 * BPE tokenizers split text with (as @huggingface/tokenizers compiles it). A scanner returns the end
 * of the piece that starts at `i`; the patterns cover every character, so pieces tile the text.
 *
 *   llama3Scanner(maxDigits) — Llama-3 / cl100k (maxDigits 3) and Qwen2 (maxDigits 1):
 *     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 *     \s*[\r\n]+|\s+(?!\S)|\s+          (with \s = \p{White_Space}, case folding ASCII only)
 *   gpt2Scanner — GPT-2's ByteLevel pattern (JavaScript \s, case-sensitive contractions):
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 */
import { asciiClass, charClass, codePointAt, JS_WS, L, N, NEWLINE, WS } from './char-class';

/** End (exclusive) of the piece of `s` that starts at `i` (`i < s.length`). */
export type Scanner = (s: string, i: number) => number;

function classAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? asciiClass[c] : charClass(codePointAt(s, i));
}

function widthAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && codePointAt(s, i) > 0xffff ? 2 : 1;
}

/** End of the run from `j` of code points whose class has a bit of `mask`. */
function runWhile(s: string, j: number, mask: number): number {
  const n = s.length;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c < 128) {
      if ((asciiClass[c] & mask) === 0) break;
      j++;
    } else {
      const cp = codePointAt(s, j);
      if ((charClass(cp) & mask) === 0) break;
      j += cp > 0xffff ? 2 : 1;
    }
  }
  return j;
}

/** End of the run from `j` of code points whose class has no bit of `mask`. */
function runUntil(s: string, j: number, mask: number): number {
  const n = s.length;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c < 128) {
      if ((asciiClass[c] & mask) !== 0) break;
      j++;
    } else {
      const cp = codePointAt(s, j);
      if ((charClass(cp) & mask) !== 0) break;
      j += cp > 0xffff ? 2 : 1;
    }
  }
  return j;
}

/** Length of the contraction at `i` ('s 't 're 've 'm 'll 'd), 0 if none. */
function contraction(s: string, i: number, foldCase: boolean): number {
  const n = s.length;
  if (i + 1 >= n) return 0;
  let c1 = s.charCodeAt(i + 1);
  if (foldCase && c1 >= 0x41 && c1 <= 0x5a) c1 |= 0x20;
  if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) return 2; // s t m d
  if (i + 2 >= n) return 0;
  let c2 = s.charCodeAt(i + 2);
  if (foldCase && c2 >= 0x41 && c2 <= 0x5a) c2 |= 0x20;
  if ((c1 === 0x72 || c1 === 0x76) && c2 === 0x65) return 3; // re ve
  if (c1 === 0x6c && c2 === 0x6c) return 3; // ll
  return 0;
}

export function llama3Scanner(maxDigits: number): Scanner {
  const OTHER_MASK = WS | L | N;
  return (s: string, i: number): number => {
    const n = s.length;
    const c = s.charCodeAt(i);
    if (c === 0x27) {
      const k = contraction(s, i, true);
      if (k > 0) return i + k;
    }
    const cls = classAt(s, i);
    const w = c < 128 ? 1 : widthAt(s, i);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (cls & L) return runWhile(s, i + w, L);
    // \p{N}{1,maxDigits}
    if (cls & N) {
      let j = i + w;
      for (let d = 1; d < maxDigits && j < n; d++) {
        if ((classAt(s, j) & N) === 0) break;
        j += widthAt(s, j);
      }
      return j;
    }
    if ((cls & NEWLINE) === 0 && i + w < n && classAt(s, i + w) & L) return runWhile(s, i + w, L);
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    if ((cls & OTHER_MASK) === 0) return runWhile(s, runUntil(s, i + w, OTHER_MASK), NEWLINE);
    if (c === 0x20 && i + 1 < n && (classAt(s, i + 1) & OTHER_MASK) === 0) {
      return runWhile(s, runUntil(s, i + 1, OTHER_MASK), NEWLINE);
    }
    // Whitespace (all of it is in the BMP): \s*[\r\n]+ | \s+(?!\S) | \s+
    let lastNewline = cls & NEWLINE ? i : -1;
    let j = i + 1;
    while (j < n) {
      const c2 = s.charCodeAt(j);
      const k2 = c2 < 128 ? asciiClass[c2] : charClass(c2);
      if ((k2 & WS) === 0) break;
      if (k2 & NEWLINE) lastNewline = j;
      j++;
    }
    if (lastNewline >= 0) return lastNewline + 1;
    if (j === n) return n;
    return j - i >= 2 ? j - 1 : j;
  };
}

export const gpt2Scanner: Scanner = (s: string, i: number): number => {
  const OTHER_MASK = JS_WS | L | N;
  const n = s.length;
  const c = s.charCodeAt(i);
  if (c === 0x27) {
    const k = contraction(s, i, false);
    if (k > 0) return i + k;
  }
  const cls = classAt(s, i);
  const w = c < 128 ? 1 : widthAt(s, i);
  if (cls & L) return runWhile(s, i + w, L);
  if (cls & N) return runWhile(s, i + w, N);
  if ((cls & OTHER_MASK) === 0) return runUntil(s, i + w, OTHER_MASK);
  if (c === 0x20 && i + 1 < n) {
    const next = classAt(s, i + 1);
    if (next & L) return runWhile(s, i + 1, L);
    if (next & N) return runWhile(s, i + 1, N);
    if ((next & OTHER_MASK) === 0) return runUntil(s, i + 1, OTHER_MASK);
  }
  // JavaScript \s (all of it is in the BMP): \s+(?!\S) | \s+
  let j = i + 1;
  while (j < n) {
    const c2 = s.charCodeAt(j);
    const k2 = c2 < 128 ? asciiClass[c2] : charClass(c2);
    if ((k2 & JS_WS) === 0) break;
    j++;
  }
  if (j === n) return n;
  return j - i >= 2 ? j - 1 : j;
};
