// Scanners: pieces worked out by hand from the regexes, then random strings against the very
// regexes @huggingface/tokenizers compiles (a scanner must tile the text exactly like match()).
import { ByteLevelPreTokenizer, SplitPreTokenizer } from '@huggingface/tokenizers';
import { gpt2Scanner, llama3Scanner, type Scanner } from './scanners';
import { HARD_CASES, randomTexts } from './test-text';

const pieces = (scan: Scanner, s: string): string[] => {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    const j = scan(s, i);
    if (j <= i) throw new Error(`no progress at ${i}`);
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
};

const LLAMA3 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const regexOf = (pattern: string): RegExp => {
  const re = new SplitPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }).pattern;
  if (re === null) throw new Error('pattern did not compile');
  return re;
};
const llama3 = llama3Scanner(3);
const qwen2 = llama3Scanner(1);

describe('llama3 scanner by hand', () => {
  test.each([
    ['Hello world', ['Hello', ' world']],
    ["I'm HE'S it's we'LL", ['I', "'m", ' HE', "'S", ' it', "'s", ' we', "'LL"]],
    ['12345', ['123', '45']],
    ['a  b', ['a', ' ', ' b']],
    ['a\n\nb', ['a', '\n\n', 'b']],
    ['a \n b', ['a', ' \n', ' b']],
    ['x   ', ['x', '   ']],
    ['(foo)', ['(foo', ')']],
    ['!!!\n\nx', ['!!!\n\n', 'x']],
    [' !!', [' !!']],
    ['\tfoo', ['\tfoo']],
    ['\r\nfoo', ['\r\n', 'foo']],
    ['日本語 text', ['日本語', ' text']],
    ['😀👍', ['😀👍']],
  ])('%j', (text, want) => {
    expect(pieces(llama3, text)).toEqual(want);
  });
  test('qwen2 splits digits one by one', () => {
    expect(pieces(qwen2, 'ab 2024!')).toEqual(['ab', ' ', '2', '0', '2', '4', '!']);
  });
});

describe('gpt2 scanner by hand', () => {
  test.each([
    ['Hello world', ['Hello', ' world']],
    ["I'M it's", ['I', "'", 'M', ' it', "'s"]],
    ['12345 67', ['12345', ' 67']],
    ['a  b', ['a', ' ', ' b']],
    ['x\n\ny', ['x', '\n', '\n', 'y']],
    ['x   ', ['x', '   ']],
    ['(foo)', ['(', 'foo', ')']],
    [' ??x', [' ??', 'x']],
    ['\u0085a', ['\u0085', 'a']],
  ])('%j', (text, want) => {
    expect(pieces(gpt2Scanner, text)).toEqual(want);
  });
});

describe.each([
  ['llama3', llama3, regexOf(LLAMA3)],
  ['qwen2', qwen2, regexOf(LLAMA3.replace('\\p{N}{1,3}', '\\p{N}'))],
  ['gpt2', gpt2Scanner, new ByteLevelPreTokenizer({ type: 'ByteLevel' }).pattern],
])('%s scanner against its regex', (_name, scan, regex) => {
  test('hard cases and 3000 random strings', () => {
    const texts = [...HARD_CASES, ...randomTexts(3000, 77, 32)];
    const wrong = texts.filter((t) => JSON.stringify(pieces(scan, t)) !== JSON.stringify(t.match(regex) ?? []));
    expect(wrong.slice(0, 3)).toEqual([]);
  });
});
