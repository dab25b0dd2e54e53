// GPT-2's byte alphabet (known spellings) and UTF-8 encoding against TextEncoder.
import { BYTE_TO_CHAR, byteLevelString, utf8Bytes } from './byte-level';
import { randomTexts } from './test-text';

test('printable bytes map to themselves, the others to U+0100 + n in byte order', () => {
  expect(String.fromCharCode(BYTE_TO_CHAR[0x41])).toBe('A');
  expect(String.fromCharCode(BYTE_TO_CHAR[0x20])).toBe('Ġ'); // U+0120: the 33rd non-printable byte
  expect(String.fromCharCode(BYTE_TO_CHAR[0x0a])).toBe('Ċ'); // U+010A
  expect(BYTE_TO_CHAR[0x00]).toBe(0x100);
  expect(BYTE_TO_CHAR[0x7f]).toBe(0x100 + 33);
  expect(BYTE_TO_CHAR[0xad]).toBe(0x100 + 67); // soft hyphen, the last gap
  expect(BYTE_TO_CHAR[0xe4]).toBe(0xe4);
  expect(new Set(BYTE_TO_CHAR).size).toBe(256);
});

test('utf8Bytes equals TextEncoder, lone surrogates included', () => {
  const te = new TextEncoder();
  const texts = [...randomTexts(500, 7), '\ud800', 'a\udc00b', '\ud83d\ude00', '\uffff', '\u07ff\u0800'];
  for (const t of texts) {
    const buf = new Uint8Array(t.length * 3);
    const n = utf8Bytes(t, buf);
    expect(Array.from(buf.subarray(0, n))).toEqual(Array.from(te.encode(t)));
  }
});

test('byteLevelString spells bytes in the vocabulary alphabet', () => {
  const bytes = new TextEncoder().encode(' héllo\n');
  expect(byteLevelString(bytes, bytes.length)).toBe('ĠhÃ©lloĊ');
});
