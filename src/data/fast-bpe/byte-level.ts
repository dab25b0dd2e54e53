/**
 * GPT-2's byte-level alphabet: every byte is shown as one printable character (bytes that are
 * printable Latin-1 map to themselves, the rest to U+0100 + n), so BPE vocabularies are strings.
 *
 *   BYTE_TO_CHAR[b]          → the character code standing for byte b
 *   utf8Bytes(s, out) → n    → UTF-8 bytes of s into out (lone surrogates become U+FFFD, as
 *                               TextEncoder does); out must hold 3 × s.length bytes
 *   byteLevelString(bytes, n) → the vocabulary spelling of those bytes
 */

function buildByteToChar(): Uint16Array {
  const map = new Uint16Array(256);
  const direct = new Uint8Array(256);
  const ranges: [number, number][] = [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ];
  for (const [lo, hi] of ranges) {
    for (let b = lo; b <= hi; b++) {
      map[b] = b;
      direct[b] = 1;
    }
  }
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!direct[b]) map[b] = 256 + n++;
  }
  return map;
}

export const BYTE_TO_CHAR: Uint16Array = buildByteToChar();

/** UTF-8 encodes `s` into `out`, returning the byte count (TextEncoder semantics). */
export function utf8Bytes(s: string, out: Uint8Array): number {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        out[n++] = 0xf0 | (cp >> 18);
        out[n++] = 0x80 | ((cp >> 12) & 0x3f);
        out[n++] = 0x80 | ((cp >> 6) & 0x3f);
        out[n++] = 0x80 | (cp & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}

/** The byte-level vocabulary spelling of `bytes[0..n)`. */
export function byteLevelString(bytes: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(BYTE_TO_CHAR[bytes[i]]);
  return s;
}
