import { c4Quality, c4QualityOptions } from './c4-quality';
import { finewebQuality, finewebQualityOptions } from './fineweb-quality';
import { gopherRepetition, gopherRepetitionOptions } from './gopher-repetition';
import { TERMINAL_PUNCTUATION } from './text-sets';

const pad = (i: number): string => String(i).padStart(3, '0');

describe('gopher_repetition (datatrove defaults)', () => {
  const o = gopherRepetitionOptions.parse({});
  /** Long distinct lines and k copies of one short line ("ab"): duplicates = k − 1. */
  const lines = (unique: number, copies: number): string =>
    [...Array.from({ length: unique }, (_, i) => `line${pad(i)} has w${pad(i)}a w${pad(i)}b w${pad(i)}c w${pad(i)}d w${pad(i)}e`), ...Array<string>(copies).fill('ab')].join('\n');

  it('duplicated lines ≤ 0.3 of lines: 3 of 10 kept, 4 of 10 dropped', () => {
    expect(gopherRepetition(lines(6, 4), o)).toBe(true);
    expect(gopherRepetition(lines(5, 5), o)).toBe('dup_line_frac');
  });

  it('duplicated paragraphs ≤ 0.3 of paragraphs: 3 of 10 kept, 4 of 10 dropped', () => {
    expect(gopherRepetition(lines(6, 4).replaceAll('\n', '\n\n'), o)).toBe(true);
    expect(gopherRepetition(lines(5, 5).replaceAll('\n', '\n\n'), o)).toBe('dup_para_frac');
  });

  it('most frequent 2-gram ≤ 0.2 of characters: 10 × "ab cd" in 259 characters kept, in 209 dropped', () => {
    const only2 = gopherRepetitionOptions.parse({ dup_line_frac: null, dup_para_frac: null, dup_line_char_frac: null, dup_para_char_frac: null, top_n_grams: [[2, 0.2]], dup_n_grams: [] });
    // 10 segments "ab cd" + m distinct 4-letter fillers, joined by spaces: length 10·(5 + 5m) + 9.
    const text = (m: number): string =>
      Array.from({ length: 10 }, (_, s) => ['ab cd', ...Array.from({ length: m }, (_, k) => `w${pad(s * 10 + k)}`)].join(' ')).join(' ');
    expect(text(4).length).toBe(259);
    expect(gopherRepetition(text(4), only2)).toBe(true); // 50 / 259 = 0.193
    expect(gopherRepetition(text(3), only2)).toBe('top_2_gram'); // 50 / 209 = 0.239
  });
});

describe('fineweb_quality (datatrove defaults)', () => {
  const o = finewebQualityOptions.parse({});
  const stops = TERMINAL_PUNCTUATION;
  const long = (i: number, end = '.'): string => `This is a long line with several words, number ${pad(i)}${end}`;
  const short = (i: number): string => `Short line ${pad(i)} here.`;

  it('lines ending in terminal punctuation ≥ 0.12: 3 of 25 kept, 2 of 25 dropped', () => {
    const doc = (k: number): string => Array.from({ length: 25 }, (_, i) => long(i, i < k ? '.' : ' and')).join('\n');
    expect(finewebQuality(doc(3), o, stops)).toBe(true);
    expect(finewebQuality(doc(2), o, stops)).toBe('line_punct_ratio');
  });

  it('short lines (≤ 30 characters) ≤ 0.67: 20 of 30 kept, 21 of 30 dropped', () => {
    const doc = (k: number): string => Array.from({ length: 30 }, (_, i) => (i < k ? short(i) : long(i))).join('\n');
    expect(short(0).length).toBeLessThanOrEqual(30);
    expect(long(0).length).toBeGreaterThan(30);
    expect(finewebQuality(doc(20), o, stops)).toBe(true);
    expect(finewebQuality(doc(21), o, stops)).toBe('short_line_ratio');
  });

  it('characters in duplicated lines ≤ 0.01 of the text', () => {
    // 200 long distinct lines (51 chars each → 10200 chars) + one line of length L twice: dup share L / (10200 + 2L).
    const base = Array.from({ length: 200 }, (_, i) => long(i));
    expect(base.join('').length).toBe(10200);
    const rep = (len: number): string => 'x'.repeat(len - 1) + '.';
    expect(finewebQuality([...base, rep(104), rep(104)].join('\n'), o, stops)).toBe(true); // 104 / 10408 = 0.00999
    expect(finewebQuality([...base, rep(105), rep(105)].join('\n'), o, stops)).toBe('char_dup_ratio'); // 105 / 10410 = 0.01009
  });

  it('newlines per word ≤ 0.3', () => {
    // k lines of "Aa bb cc." (NLTK: 4 words each): (k − 1) / 4k.
    const lines = (words: string, k: number): string => Array.from({ length: k }, (_, i) => `${words} x${pad(i)}yyyyyyyyyyyyyyyyyyyyyyyyyy.`).join('\n');
    // "Aa bb x000…." = 3 words + "." = 4 tokens per line: (10 − 1) / 40 = 0.225 kept; "Aa x000…." = 3 tokens: 9 / 30 = 0.3 kept; "x000…." = 2 tokens: 9 / 20 = 0.45 dropped.
    expect(finewebQuality(lines('Aa bb', 10), o, stops)).toBe(true);
    expect(finewebQuality(lines('Aa', 10), o, stops)).toBe(true);
    expect(finewebQuality(Array.from({ length: 10 }, (_, i) => `x${pad(i)}yyyyyyyyyyyyyyyyyyyyyyyyyy${pad(i)}.`).join('\n'), o, stops)).toBe('list_ratio');
  });
});

describe('c4_quality (datatrove defaults)', () => {
  const o = c4QualityOptions.parse({});
  const sentence = (i: number): string => `This is sentence number ${i}.`;

  it('≥ 5 sentences left: 5 kept, 4 dropped', () => {
    expect(c4Quality([1, 2, 3, 4, 5].map(sentence).join('\n'), o)).toEqual({ text: [1, 2, 3, 4, 5].map(sentence).join('\n') });
    expect(c4Quality([1, 2, 3, 4].map(sentence).join('\n'), o)).toEqual({ drop: 'too_few_sentences' });
  });

  it('removes lines without terminal punctuation, ending in "...", with < 3 words, with javascript or policy phrases; cuts citations', () => {
    const text = [
      sentence(1), 'no punctuation here', 'It trails off...', 'Two words.', 'Please enable JavaScript now.', 'Read our privacy policy today.',
      'A cited claim[1].', sentence(2), sentence(3), sentence(4),
    ].join('\n');
    expect(c4Quality(text, o)).toEqual({ text: [sentence(1), 'A cited claim.', sentence(2), sentence(3), sentence(4)].join('\n') });
  });

  it('drops documents with lorem ipsum or a curly bracket', () => {
    const five = [1, 2, 3, 4, 5].map(sentence);
    expect(c4Quality([...five, 'Lorem ipsum dolor sit amet.'].join('\n'), o)).toEqual({ drop: 'lorem_ipsum' });
    expect(c4Quality([...five, 'A code block { here }.'].join('\n'), o)).toEqual({ drop: 'curly_bracket' });
  });
});
