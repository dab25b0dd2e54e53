/**
 * Python's string rules that datatrove's filters are written in (splitlines, split, strip, isalpha,
 * len in code points), `simplifyText` (datatrove's `simplify_text`, default TextNormConfig) and
 * `splitIntoWords` (NLTK `word_tokenize`, English). See text-sets.ts for the character sets and the
 * one stated difference (sentence splitting).
 */
import { PUNCTUATION } from './text-sets';

/** Python's str.isspace() characters. */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${PY_WS}]+`, 'gu');
const LEAD_WS = new RegExp(`^[${PY_WS}]+`, 'u');
const TRAIL_WS = new RegExp(`[${PY_WS}]+$`, 'u');
/** Python's str.splitlines() boundaries. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/u;

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(LEAD_WS, '').replace(TRAIL_WS, '');
}
export function pyLstrip(s: string): string {
  return s.replace(LEAD_WS, '');
}
export function pyRstrip(s: string): string {
  return s.replace(TRAIL_WS, '');
}

/** Python `s.split()` (no argument): runs of white space, no empty items. */
export function pySplit(s: string): string[] {
  const parts = s.split(WS_RUN);
  return parts.filter((p) => p.length > 0);
}

/** Python `s.splitlines()`. */
export function pySplitlines(s: string): string[] {
  if (s.length === 0) return [];
  const parts = s.split(LINE_BREAK);
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Python `len(s)`: code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

const ALPHA = /\p{L}/u;
/** Python `any(c.isalpha() for c in w)`. */
export function hasAlpha(w: string): boolean {
  return ALPHA.test(w);
}

/** Non-overlapping occurrences of `sub` (Python `str.count`). */
export function countOf(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

// ---- simplify_text ---------------------------------------------------------------------------

const NUMBERS = /\p{Nd}+([.,،٫⎖⎗⎘]\p{Nd}+)?/gu;
const PUNCT_CHARS = new Set(PUNCTUATION);
const MARK = /\p{Mn}/gu;

/** datatrove `simplify_text`: lowercase, numbers → 0, punctuation → space, one space, no diacritics. */
export function simplifyText(text: string): string {
  let t = text.toLowerCase().replace(NUMBERS, '0');
  let out = '';
  for (const ch of t) out += PUNCT_CHARS.has(ch) ? ' ' : ch;
  t = pyStrip(out).replace(WS_RUN, ' ');
  t = t.normalize('NFD').replace(MARK, '');
  return pyStrip(t);
}

// ---- NLTK word_tokenize ----------------------------------------------------------------------

const W = '[\\p{L}\\p{N}_]';
/** `\b` before a word character / after one, as Python's Unicode-aware \b. */
const B_BEFORE = `(?<!${W})`;
const B_AFTER = `(?!${W})`;
/** Python's `$` without MULTILINE: the end, or just before a final newline. */
const END = '(?=\\n?$)';
const re = (src: string, flags = ''): RegExp => new RegExp(src, `gu${flags}`);

type Rule = [RegExp, string];

const STARTING_QUOTES: Rule[] = [
  [re('([«“‘„]|[`]+)'), ' $1 '],
  [re('^"'), '``'],
  [re('(``)'), ' $1 '],
  [re('([ (\\[{<])("|\'{2})'), '$1 `` '],
  [re(`(')(?!re|ve|ll|m|t|s|d|n)(${W})${B_AFTER}`, 'i'), '$1 $2'],
];

const PUNCTUATION_RULES: Rule[] = [
  [re(`([^.])(\\.)([\\])}>"'»”’ ]*)[${PY_WS}]*${END}`), '$1 $2 $3 '],
  [re('([:,])([^\\p{Nd}])'), ' $1 $2'],
  [re(`([:,])${END}`), ' $1 '],
  [re('\\.{2,}'), ' $& '],
  [re('[;@#$%&]'), ' $& '],
  [re(`([^.])(\\.)([\\])}>"']*)[${PY_WS}]*${END}`), '$1 $2$3 '],
  [re('[?!]'), ' $& '],
  [re("([^'])' "), "$1 ' "],
  [re('[*]'), ' $& '],
];

const PARENS_BRACKETS: Rule = [re('[\\][(){}<>]'), ' $& '];
const DOUBLE_DASHES: Rule = [re('--'), ' -- '];

const ENDING_QUOTES: Rule[] = [
  [re('([»”’])'), ' $1 '],
  [re("''"), " '' "],
  [re('"'), " '' "],
  [re("([^' ])('[sS]|'[mM]|'[dD]|') "), '$1 $2 '],
  [re("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), '$1 $2 '],
];

const CONTRACTIONS: Rule[] = [
  ...[
    `${B_BEFORE}(can)(not)${B_AFTER}`,
    `${B_BEFORE}(d)('ye)${B_AFTER}`,
    `${B_BEFORE}(gim)(me)${B_AFTER}`,
    `${B_BEFORE}(gon)(na)${B_AFTER}`,
    `${B_BEFORE}(got)(ta)${B_AFTER}`,
    `${B_BEFORE}(lem)(me)${B_AFTER}`,
    `${B_BEFORE}(more)('n)${B_AFTER}`,
    `${B_BEFORE}(wan)(na)(?=\\s)`,
    ` ('t)(is)${B_AFTER}`,
    ` ('t)(was)${B_AFTER}`,
  ].map((s): Rule => [re(s, 'i'), ' $1 $2 ']),
];

/** NLTKWordTokenizer.tokenize (convert_parentheses=False) of one sentence. */
export function treebankTokenize(sentence: string): string[] {
  let t = sentence;
  for (const [r, s] of STARTING_QUOTES) t = t.replace(r, s);
  for (const [r, s] of PUNCTUATION_RULES) t = t.replace(r, s);
  t = t.replace(PARENS_BRACKETS[0], PARENS_BRACKETS[1]);
  t = t.replace(DOUBLE_DASHES[0], DOUBLE_DASHES[1]);
  t = ` ${t} `;
  for (const [r, s] of ENDING_QUOTES) t = t.replace(r, s);
  for (const [r, s] of CONTRACTIONS) t = t.replace(r, s);
  return pySplit(t);
}

/** A sentence ends at . ? ! (and closing quotes / brackets) followed by white space. */
const SENTENCE_END = new RegExp(`(?<=[.?!]['"’”)\\]]*)[${PY_WS}]+`, 'u');

export function splitSentences(text: string): string[] {
  return text.split(SENTENCE_END).filter((s) => s.length > 0);
}

/** datatrove `split_into_words(text, "en")`: word_tokenize, then strip and drop empty tokens. */
export function splitIntoWords(text: string): string[] {
  const words: string[] = [];
  for (const s of splitSentences(text)) for (const w of treebankTokenize(s)) words.push(w);
  return words;
}
