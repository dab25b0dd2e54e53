/**
 * Python's string rules that datatrove's filters are written in (splitlines, split, strip, isalpha,
 * len in code points), `simplifyText` (datatrove's `simplify_text`, default TextNormConfig) and
 * `splitIntoWordsByRules` (NLTK `word_tokenize`, English; word-split.ts has the fast form the filters
 * use). See text-sets.ts for the character sets and the one stated difference (sentence splitting).
 */
import { PUNCTUATION } from './text-sets';

/** Python's str.isspace() characters. */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${PY_WS}]+`, 'gu');
const LEAD_WS = new RegExp(`^[${PY_WS}]+`, 'u');
const TRAIL_WS = new RegExp(`[${PY_WS}]+$`, 'u');
/** PY_WS by UTF-16 unit (all of them are single units, the highest U+3000). */
const WS_TABLE = ((): Uint8Array => {
  const t = new Uint8Array(0x3001);
  const ws = new RegExp(`[${PY_WS}]`, 'u');
  for (let c = 0; c < t.length; c++) t[c] = ws.test(String.fromCharCode(c)) ? 1 : 0;
  return t;
})();

/** Whether UTF-16 unit `c` is one of PY_WS. */
export function isPyWs(c: number): boolean {
  return c <= 0x3000 && WS_TABLE[c] === 1;
}

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
/** Every PUNCTUATION character, as one character class (str.translate to spaces). */
const PUNCT_CLASS = new RegExp(`[${[...PUNCTUATION].map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join('')}]`, 'gu');
const MARK = /\p{Mn}/gu;

/** datatrove `simplify_text`: lowercase, numbers → 0, punctuation → space, one space, no diacritics. */
export function simplifyText(text: string): string {
  return isAscii(text) ? simplifyAscii(text) : simplifyTextByRules(text);
}

/** `simplifyText` as the regular expressions above spell it (any text). */
export function simplifyTextByRules(text: string): string {
  let t = text.toLowerCase().replace(NUMBERS, '0').replace(PUNCT_CLASS, ' ');
  t = pyStrip(t).replace(WS_RUN, ' ');
  t = t.normalize('NFD').replace(MARK, '');
  return pyStrip(t);
}

export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** ASCII characters of PUNCTUATION, by code. */
const ASCII_PUNCT = ((): Uint8Array => {
  const t = new Uint8Array(128);
  for (const ch of PUNCTUATION) if (ch.charCodeAt(0) < 128) t[ch.charCodeAt(0)] = 1;
  return t;
})();

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** What `simplifyAsciiBytes` does with each byte: one of these three, or else the byte to write (A–Z lowercased). */
const SB_SEP = 0; // punctuation or white space
const SB_DIGIT = 1;
const SB_NON_ASCII = 2;
const SIMPLE_BYTE = ((): Uint8Array => {
  const t = new Uint8Array(256).fill(SB_NON_ASCII);
  for (let c = 0; c < 0x80; c++) t[c] = isDigit(c) ? SB_DIGIT : ASCII_PUNCT[c] === 1 || isPyWs(c) ? SB_SEP : c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  // Bytes 0–2 are control characters, punctuation to datatrove: no byte to write collides with the three actions.
  for (let c = 0; c <= SB_NON_ASCII; c++) if (t[c] !== SB_SEP) throw new Error(`simplify_text table: byte ${c} is not punctuation`);
  return t;
})();

function simplifyAscii(text: string): string {
  const buf = Buffer.from(text, 'latin1');
  return buf.toString('latin1', 0, simplifyAsciiBytes(buf, 0, buf.length, buf));
}

/**
 * `simplifyTextByRules` for ASCII text in one pass, over its bytes `src[from, to)` (as UTF-8 or Latin-1
 * stores it): a number (digits, optionally `.` or `,` and more digits) → 0, punctuation and white
 * space → one space between words, A–Z → a–z (NFD changes no ASCII). Writes the result to `out` (room
 * for `to − from` bytes; `out` may be `src` itself: nothing is written ahead of what was read) and
 * returns its length, or −1 at the first byte ≥ 0x80 (not ASCII: the caller uses the rules).
 */
export function simplifyAsciiBytes(src: Uint8Array, from: number, to: number, out: Uint8Array): number {
  let len = 0;
  let space = false;
  for (let i = from; i < to; ) {
    let k = SIMPLE_BYTE[src[i++]];
    if (k === SB_SEP) {
      space = len > 0;
      continue;
    }
    if (k === SB_NON_ASCII) return -1;
    if (k === SB_DIGIT) {
      // A number (digits, optionally `.` or `,` and more digits) → 0.
      while (i < to && isDigit(src[i])) i++;
      if (i + 1 < to && (src[i] === 0x2e || src[i] === 0x2c) && isDigit(src[i + 1])) {
        i += 2;
        while (i < to && isDigit(src[i])) i++;
      }
      k = 0x30;
    }
    if (space) {
      out[len++] = 0x20;
      space = false;
    }
    out[len++] = k;
  }
  return len;
}

// ---- NLTK word_tokenize ----------------------------------------------------------------------

const W = '[\\p{L}\\p{N}_]';
/** `\b` before a word character / after one, as Python's Unicode-aware \b. */
const B_BEFORE = `(?<!${W})`;
const B_AFTER = `(?!${W})`;
/**
 * All sentences of a text are tokenized in one pass, joined by SEP (a private-use character between
 * spaces): the rules NLTK anchors at a sentence's start (^) or end ($) are anchored at SEP here, so
 * each sentence is treated as NLTK treats it alone, without 20 regex passes per sentence.
 */
const SEP = '\uE000';
/** NLTK's `$` (end of the sentence, or before a final newline) → before the separator or the end. */
const END = `(?=\\n?(?: ${SEP}|$))`;
/** NLTK's `^` → the start, or just after a separator. */
const START = `(?<=^|${SEP} )`;
const re = (src: string, flags = ''): RegExp => new RegExp(src, `gu${flags}`);

/** A rule, and text that must occur (lowercased) for it to match at all: the rule is skipped without it. */
type Rule = [RegExp, string, string?];

function apply(t: string, rules: readonly Rule[], lower: string): string {
  for (const [r, s, needle] of rules) if (needle === undefined || lower.includes(needle)) t = t.replace(r, s);
  return t;
}

const STARTING_QUOTES: Rule[] = [
  [re('([«“‘„]|[`]+)'), ' $1 '],
  [re(`${START}"`), '``'],
  [re('(``)'), ' $1 '],
  [re('([ (\\[{<])("|\'{2})'), '$1 `` '],
  [re(`(')(?!re|ve|ll|m|t|s|d|n)(${W})${B_AFTER}`, 'i'), '$1 $2', "'"],
];

const PUNCTUATION_RULES: Rule[] = [
  [re(`([^.${SEP}])(\\.)([\\])}>"'»”’ ]*)[${PY_WS}]*${END}`), '$1 $2 $3 '],
  [re('([:,])([^\\p{Nd}])'), ' $1 $2'],
  [re(`([:,])${END}`), ' $1 '],
  [re('\\.{2,}'), ' $& '],
  [re('[;@#$%&]'), ' $& '],
  [re(`([^.${SEP}])(\\.)([\\])}>"']*)[${PY_WS}]*${END}`), '$1 $2$3 '],
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

const CONTRACTIONS: Rule[] = (
  [
    [`${B_BEFORE}(can)(not)${B_AFTER}`, 'cannot'],
    [`${B_BEFORE}(d)('ye)${B_AFTER}`, "d'ye"],
    [`${B_BEFORE}(gim)(me)${B_AFTER}`, 'gimme'],
    [`${B_BEFORE}(gon)(na)${B_AFTER}`, 'gonna'],
    [`${B_BEFORE}(got)(ta)${B_AFTER}`, 'gotta'],
    [`${B_BEFORE}(lem)(me)${B_AFTER}`, 'lemme'],
    [`${B_BEFORE}(more)('n)${B_AFTER}`, "more'n"],
    [`${B_BEFORE}(wan)(na)(?=\\s)`, 'wanna'],
    [` ('t)(is)${B_AFTER}`, "'tis"],
    [` ('t)(was)${B_AFTER}`, "'twas"],
  ] as const
).map(([s, needle]): Rule => [re(s, 'i'), ' $1 $2 ', needle]);

/** NLTKWordTokenizer.tokenize (convert_parentheses=False) of each of `sentences`, concatenated. */
export function treebankTokenize(...sentences: string[]): string[] {
  let t = sentences.join(` ${SEP} `);
  // The rules never add letters, so the lowercased input tells which literal-led rules can match.
  const lower = t.toLowerCase();
  t = apply(t, STARTING_QUOTES, lower);
  t = apply(t, PUNCTUATION_RULES, lower);
  t = t.replace(PARENS_BRACKETS[0], PARENS_BRACKETS[1]);
  t = t.replace(DOUBLE_DASHES[0], DOUBLE_DASHES[1]);
  t = ` ${t} `;
  t = apply(t, ENDING_QUOTES, lower);
  t = apply(t, CONTRACTIONS, lower);
  return pySplit(t).filter((w) => w !== SEP);
}

/** A sentence ends at . ? ! (and closing quotes / brackets) followed by white space. */
const SENTENCE_END = new RegExp(`(?<=[.?!]['"’”)\\]]*)[${PY_WS}]+`, 'u');

export function splitSentences(text: string): string[] {
  return text.split(SENTENCE_END).filter((s) => s.length > 0);
}

/**
 * datatrove `split_into_words(text, "en")`: word_tokenize, then strip and drop empty tokens — the
 * rules applied to the whole text. The filters call the faster `splitIntoWords` (word-split.ts),
 * which must return exactly this.
 */
export function splitIntoWordsByRules(text: string): string[] {
  return treebankTokenize(...splitSentences(text.replaceAll(SEP, ' ')));
}

/** The character that joins sentences inside `treebankTokenize` (replaced by a space in input text). */
export const SENTENCE_JOIN = SEP;
