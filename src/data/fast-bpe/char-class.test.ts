// Class bits of hand-picked code points (from the Unicode tables) and code point reading.
import { asciiClass, charClass, codePointAt, JS_WS, L, LOWERISH, N, NEWLINE, UPPERISH, WS } from './char-class';

const cp = (s: string): number => s.codePointAt(0) as number;

test('ASCII letters, digits, spaces, newlines, punctuation', () => {
  expect(charClass(cp('a'))).toBe(L | LOWERISH);
  expect(charClass(cp('Q'))).toBe(L | UPPERISH);
  expect(charClass(cp('7'))).toBe(N);
  expect(charClass(cp(' '))).toBe(WS | JS_WS);
  expect(charClass(cp('\t'))).toBe(WS | JS_WS);
  expect(charClass(cp('\n'))).toBe(WS | JS_WS | NEWLINE);
  expect(charClass(cp('\r'))).toBe(WS | JS_WS | NEWLINE);
  expect(charClass(cp('!'))).toBe(0);
  expect(charClass(cp("'"))).toBe(0);
  for (let c = 0; c < 128; c++) expect(asciiClass[c]).toBe(charClass(c));
});

test('the two whitespace definitions differ on U+0085 and U+FEFF only', () => {
  expect(charClass(0x85)).toBe(WS);
  expect(charClass(0xfeff)).toBe(JS_WS);
  expect(charClass(0xa0)).toBe(WS | JS_WS);
  expect(charClass(0x3000)).toBe(WS | JS_WS);
  expect(charClass(0x2028)).toBe(WS | JS_WS);
  expect(charClass(0x200b)).toBe(0); // zero-width space is not white space
});

test('non-ASCII letters, numbers and marks', () => {
  expect(charClass(cp('中'))).toBe(L | UPPERISH | LOWERISH); // Lo is in both o200k letter classes
  expect(charClass(cp('ǅ'))).toBe(L | UPPERISH); // Lt
  expect(charClass(cp('ß'))).toBe(L | LOWERISH);
  expect(charClass(0x301)).toBe(UPPERISH | LOWERISH); // combining acute: \p{M}, not \p{L}
  expect(charClass(cp('٣'))).toBe(N);
  expect(charClass(cp('½'))).toBe(N);
  expect(charClass(cp('²'))).toBe(N);
  expect(charClass(cp('𝐀'))).toBe(L | UPPERISH); // astral
  expect(charClass(cp('😀'))).toBe(0);
  expect(charClass(0xd800)).toBe(0); // lone surrogate
});

test('codePointAt joins surrogate pairs and keeps lone surrogates', () => {
  expect(codePointAt('a😀', 1)).toBe(0x1f600);
  expect(codePointAt('a😀', 2)).toBe(0xde00);
  expect(codePointAt('\ud800x', 0)).toBe(0xd800);
  expect(codePointAt('\ud800', 0)).toBe(0xd800);
  expect(codePointAt('\udc00\ud800', 0)).toBe(0xdc00);
});
