import { readFileSync } from 'node:fs';
import path from 'node:path';
import { simplifyText, simplifyTextByRules, splitIntoWordsByRules, splitSentences } from './text';
import { sentenceRanges, splitIntoWords } from './word-split';

// The fast forms against the rules they replace (text.ts), on the demo corpus, on hand-picked texts
// at the edges of the reasoning in word-split.ts, and on random texts over the characters the rules
// react to (quotes, brackets, periods, apostrophes, contractions, odd white space, non-ASCII).

const kjv = readFileSync(path.join(__dirname, '../../../examples/data/kjv_demo.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { text: string }).text);

const picked = [
  '',
  ' ',
  'word',
  'It cannot be. I CANNOT go, gonna wanna-be gimme lemme gotta.',
  "'Tis the season, 'twas said. don't can't won't I'm he'll they're we've she'd it's",
  "the fathers' house ' and ' ' x' ' y 'a 'b 'm 's ''quoted'' here ''",
  '"Hello," she said. "Good (bye)." He left... then -- came---back. a..b a...',
  'a.) ) ] b.} ) c. " ) \' end.\u201d \u2019 x',
  'end with comma, and colon: 1,000 3:00 a,,b a:,b ,a ,',
  'tabs\tand\nnew\r\nlines\u2028here\u00a0nbsp \u3000 ideo.\n\nNext  para  . x',
  'S\u0308tra\u00dfe na\u00efve caf\u00e9 \u00abquoted\u00bb \u201cdouble\u201d \u2018single\u2019 \u201ea\u201c',
  '\u{1F600} emoji \u{1D400}bold 12\u0661\u0662 \u0663,\u0664 ok.',
  'x \uE000 y\uE000z \u0001 w \u017f long-s \u017ftis \'tis',
  'a wanna\u00a0b wanna\u001cb wanna\u0085 c',
  '@#$%&* [a] {b} <c> (d) ?!',
  '. leading period .x ..y',
];

/** Deterministic xorshift32. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

const PIECES = [
  'the', 'And', 'cannot', 'Gonna', 'wanna', 'lemme', 'word', 'x', 'a', 'I', '42', '3.14', '1,000', 'n', 's', 't', 'is', 'was', 'ye', 'more', 'd',
  'caf\u00e9', '\u00e9t\u00e9', '\u00df', '\u{1F600}', '\u0663', '_', 'k\u0301',
  '.', '..', '...', ',', ':', ';', '?', '!', "'", "''", '"', '`', '``', '(', ')', '[', ']', '{', '}', '<', '>', '-', '--', '*', '@', '#', '$', '%', '&', '/',
  '\u00ab', '\u00bb', '\u201c', '\u201d', '\u2018', '\u2019', '\u201e', '\u2026', '\u2022',
  "'s", "'S", "'ll", "'re", "'ve", "n't", "N'T", "'m", "'d", "'t", "'n", "'ye",
];
const SPACES = [' ', ' ', ' ', ' ', ' ', '', '', '', '  ', '\n', '\n\n', '\t', '\r\n', '\u00a0', '\u2028', '\u3000', '\u001c', '\u0085', '\ufeff'];

const isAscii = (s: string): boolean => [...s].every((c) => c.charCodeAt(0) < 0x80);

function randomText(r: () => number, ascii = false): string {
  const pieces = ascii ? PIECES.filter(isAscii) : PIECES;
  const spaces = ascii ? SPACES.filter(isAscii) : SPACES;
  const n = 1 + Math.floor(r() * 40);
  let s = r() < 0.2 ? spaces[Math.floor(r() * spaces.length)] : '';
  for (let i = 0; i < n; i++) {
    s += pieces[Math.floor(r() * pieces.length)];
    s += r() < 0.7 ? ' ' : spaces[Math.floor(r() * spaces.length)];
  }
  return s;
}

describe('splitIntoWords (word-split.ts) = splitIntoWordsByRules (text.ts)', () => {
  it('on every document of the demo corpus', () => {
    for (const t of kjv) expect(splitIntoWords(t)).toEqual(splitIntoWordsByRules(t));
  });

  it.each(picked.map((t) => [t]))('on %j', (t) => {
    expect(splitIntoWords(t)).toEqual(splitIntoWordsByRules(t));
  });

  it('on 3000 random texts over the characters the rules react to (a third of them ASCII)', () => {
    const r = rng(20261207);
    for (let i = 0; i < 3000; i++) {
      const t = randomText(r, i % 3 === 0);
      const fast = splitIntoWords(t);
      const rules = splitIntoWordsByRules(t);
      if (JSON.stringify(fast) !== JSON.stringify(rules)) expect({ text: t, words: fast }).toEqual({ text: t, words: rules });
    }
  });
});

describe('sentenceRanges = splitSentences', () => {
  it('on the demo corpus, the picked texts and random texts', () => {
    const r = rng(7);
    const texts = [...kjv, ...picked, ...Array.from({ length: 1000 }, () => randomText(r))];
    for (const t of texts) {
      const ranges = sentenceRanges(t);
      const pieces: string[] = [];
      for (let i = 0; i < ranges.length; i += 2) pieces.push(t.slice(ranges[i], ranges[i + 1]));
      expect(pieces).toEqual(splitSentences(t));
    }
  });
});

describe('simplifyText (ASCII in one pass) = simplifyTextByRules', () => {
  it('on the demo corpus, the picked texts and random texts', () => {
    const r = rng(11);
    const texts = [...kjv, ...picked, ...Array.from({ length: 1000 }, (_, i) => randomText(r, i % 2 === 0))];
    for (const t of texts) expect(simplifyText(t)).toBe(simplifyTextByRules(t));
  });
});
