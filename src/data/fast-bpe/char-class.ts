/**
 * Unicode character classes for the hand-written pre-tokenizer scanners, as bit flags per code
 * point. The classes are defined by JavaScript's own Unicode property escapes (the engine the
 * reference regexes run on), so a scanner and the regex it replaces agree on every code point.
 *
 *   charClass(cp) → bits of L | N | WS | JS_WS | NEWLINE | UPPERISH | LOWERISH
 *   codePointAt(s, i) → code point at UTF-16 index i (a lone surrogate is its own code point)
 *
 * BMP classes are computed lazily per 256-code-point block into a shared table; astral code points
 * are computed on first sight and memoised.
 */

/** \p{L} */
export const L = 1;
/** \p{N} */
export const N = 2;
/** \p{White_Space} (what Hugging Face's regex rewrite turns `\s` into) */
export const WS = 4;
/** JavaScript `\s` (differs from \p{White_Space} on U+0085 and U+FEFF) */
export const JS_WS = 8;
/** `\r` or `\n` */
export const NEWLINE = 16;
/** [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
export const UPPERISH = 32;
/** [\p{Ll}\p{Lm}\p{Lo}\p{M}] */
export const LOWERISH = 64;

const tests: readonly [RegExp, number][] = [
  [/^\p{L}$/u, L],
  [/^\p{N}$/u, N],
  [/^\p{White_Space}$/u, WS],
  [/^\s$/u, JS_WS],
  [/^[\r\n]$/u, NEWLINE],
  [/^[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]$/u, UPPERISH],
  [/^[\p{Ll}\p{Lm}\p{Lo}\p{M}]$/u, LOWERISH],
];

function computeClass(cp: number): number {
  // Lone surrogates match none of the classes (they are "other" everywhere).
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  const ch = String.fromCodePoint(cp);
  let bits = 0;
  for (const [re, bit] of tests) if (re.test(ch)) bits |= bit;
  return bits;
}

const bmp = new Uint8Array(0x10000);
const blockReady = new Uint8Array(0x100);
const astral = new Map<number, number>();

function fillBlock(block: number): void {
  const base = block << 8;
  for (let cp = base; cp < base + 0x100; cp++) bmp[cp] = computeClass(cp);
  blockReady[block] = 1;
}
fillBlock(0);

/** Class bits of a code point. */
export function charClass(cp: number): number {
  if (cp < 0x10000) {
    if (blockReady[cp >>> 8] === 0) fillBlock(cp >>> 8);
    return bmp[cp];
  }
  let bits = astral.get(cp);
  if (bits === undefined) {
    bits = computeClass(cp);
    astral.set(cp, bits);
  }
  return bits;
}

/** Class bits of an ASCII code unit (c < 128), without the lazy check. */
export const asciiClass: Uint8Array = bmp.subarray(0, 128);

/** Code point at UTF-16 index `i` of `s` (`i < s.length`). Width is 2 iff the result is > 0xFFFF. */
export function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}
