/**
 * Text for checking tokenizers against each other: hand-picked hard cases and seeded random strings
 * built from fragments that stress pre-tokenization (whitespace runs, contractions, digits, CJK,
 * emoji with ZWJ and skin tones, combining marks, Arabic, Hindi, special-token strings, odd
 * Unicode whitespace, lone surrogates), and random code points (byte fallback).
 *
 *   HARD_CASES: string[];  randomTexts(count, seed, maxFragments) → string[]
 *   seededRandomCodePoints(count, seed) → string[];  seededRandom(seed) → () => number (mulberry32)
 */
import { uniformStream } from '../../engine/model/rng';

/** mulberry32: a small seeded generator (uniform in [0, 1)), the model initialiser's own. */
export const seededRandom = uniformStream;

export const HARD_CASES: readonly string[] = [
  '',
  ' ',
  '  ',
  'a',
  'Hello world',
  'Hello  world   ',
  'trailing spaces   ',
  '   leading spaces',
  'tabs\tand\t\ttabs\t',
  'new\nlines\n\n\nhere\n',
  'windows\r\nline\r\n\r\nends\r\n',
  'mixed \t \n \r\n  \n\t x',
  "it's they're we've I'm you'll he'd can't",
  "IT'S THEY'RE WE'VE I'M YOU'LL HE'D CAN'T He'S",
  "'s 't 're 've 'm 'll 'd ''s '",
  '1 12 123 1234 12345 123456 1234567',
  '3.14159 -42 1,000,000 2024-01-01 0x1F',
  '٠١٢٣٤٥٦٧٨٩ ½ ² ³ Ⅻ',
  '中文分词测试，这是一个句子。日本語のテキスト。한국어 텍스트',
  '😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇺🇸 🧑🏿‍💻',
  'e\u0301 a\u0300\u0316 \u0301\u0301 ñ n\u0303 Å A\u030a',
  'مرحبا بالعالم، هذا نص عربي.',
  'नमस्ते दुनिया, यह हिंदी पाठ है।',
  'Ελληνικά Русский текст Ǆemal',
  '<|endoftext|>',
  'text<|endoftext|>more',
  'a <|endoftext|> b <|end_of_text|><|begin_of_text|>',
  '<|begin_of_text|>Hello<|eot_id|>',
  '<|im_start|>user\nhi<|im_end|>\n<think>\n\n</think>',
  '<|endoftext',
  '<|<|endoftext|>|>',
  'nbsp\u00a0here\u00a0\u00a0x',
  'nel\u0085here fe\ufeffff ls\u2028ps\u2029 ideo\u3000space em\u2003space',
  'lone \ud800 surrogate \udc00 here \ud83d',
  '𝐀𝐁𝐂 𝒳 astral letters 𠀀𠀁',
  'punct!!! ??? ... --- *** ((( ))) /// \\\\ ~~~',
  'code: function f(x) { return x * 2; }\n\tif (a && b) {}',
  'https://example.com/path?q=1&r=two#frag',
  'a'.repeat(1000),
  'ab'.repeat(700),
  'x'.repeat(300) + ' ' + 'y'.repeat(257),
  ' '.repeat(500) + 'end',
  '\n'.repeat(300),
  '1'.repeat(100),
  '!'.repeat(400),
  'Supercalifragilisticexpialidocious' + 'antidisestablishmentarianism'.repeat(5),
];

const FRAGMENTS: readonly string[] = [
  'a', 'b', 'e', 'z', 'A', 'Z', 'the', ' the', 'The', 'hello', 'WORLD', 'ing', 'tion',
  '0', '1', '7', '12', '345', '6789', '٣', '½', '²',
  ' ', ' ', ' ', '  ', '\t', '\n', '\n\n', '\r\n', '\r', '\u00a0', '\u0085', '\ufeff', '\u2028', '\u3000', '\u2003', '\v', '\f',
  "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'x",
  '.', ',', '!', '?', '-', '(', ')', '"', '/', '\\', '#', '@', '_', '...', '—', '…', '«', '»',
  '中', '文', '日本', '한', 'の', 'ア',
  '😀', '👍', '🏽', '\u200d', '👨‍👩‍👧', '❤️', '🇺🇸', '\ufe0f',
  '\u0301', '\u0300', 'e\u0301', 'ñ', 'Å', 'ǅ', 'ß', 'İ', 'ſ', 'K',
  'م', 'رحبا', 'ب', 'न', 'मस्ते', 'ि',
  '𝐀', '𝒳', '𠀀', '\ud800', '\udc00',
  '<|endoftext|>', '<|end_of_text|>', '<|begin_of_text|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>',
  '<|', '|>', '<', 'endoftext',
];

/** `count` random strings of 1..maxFragments fragments each. */
export function randomTexts(count: number, seed: number, maxFragments = 24): string[] {
  const rand = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rand() * maxFragments);
    let s = '';
    for (let k = 0; k < n; k++) s += FRAGMENTS[Math.floor(rand() * FRAGMENTS.length)];
    out.push(s);
  }
  return out;
}

/** Code point ranges for `seededRandomCodePoints`: mostly ones a 32k vocabulary lacks (byte fallback). */
const CODE_POINT_RANGES: readonly [number, number][] = [
  [0x20, 0x7e],
  [0x20, 0x20],
  [0x0a, 0x0a],
  [0xa0, 0x24f],
  [0x400, 0x4ff],
  [0x4e00, 0x9fff],
  [0xac00, 0xd7a3],
  [0xe000, 0xf8ff],
  [0xd800, 0xdfff],
  [0x1f300, 0x1faff],
  [0x20000, 0x2a6df],
  [0x2581, 0x2581],
];

/** `count` random strings of 1..16 code points from CODE_POINT_RANGES (incl. lone surrogates). */
export function seededRandomCodePoints(count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rand() * 16);
    let s = '';
    for (let k = 0; k < n; k++) {
      const [lo, hi] = CODE_POINT_RANGES[Math.floor(rand() * CODE_POINT_RANGES.length)];
      const cp = lo + Math.floor(rand() * (hi - lo + 1));
      s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    out.push(s);
  }
  return out;
}
