/**
 * Text helpers of the built-in filters, as datatrove defines them (src/datatrove/utils/text.py):
 * its punctuation sets (copied character for character), `simplify_text` (the normalisation behind
 * dedup), and `splitIntoWords` — NLTK's `word_tokenize` for English (NLTKWordTokenizer's regular
 * expressions, in order) after a sentence split.
 *
 * One difference, stated: NLTK splits sentences with its trained punkt model first; here a sentence
 * ends at `.`, `?` or `!` (with closing quotes/brackets) followed by white space. The split only
 * matters for a period inside a text (punkt makes "went." → "went", "."), so word counts can differ
 * where punkt's abbreviation list would have kept a period ("Mr. Smith").
 */

/** datatrove's PUNCTUATION (one string), control characters included. */
export const PUNCTUATION = '!/\u2014\u201d:\uff05\uff11\u3008&(\u3001\u2501\\\u3010#%\u300c\u300d\uff0c\u3011\uff1b+^]~\u201c\u300a\u201e\';\u2019{|\u2236\u00b4[=-`*\uff0e\uff08\u2013\uff1f\uff01\uff1a$\uff5e\u00ab\u3009,><\u300b)?\uff09\u3002\u2026@_."}\u25ba\u00bb\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f';

/** datatrove's TERMINAL_PUNCTUATION. */
export const TERMINAL_PUNCTUATION: ReadonlySet<string> = new Set(['!', '.', '?', '\u0589', '\u061d', '\u061e', '\u061f', '\u06d4', '\u0700', '\u0701', '\u0702', '\u07f9', '\u0837', '\u0839', '\u083d', '\u083e', '\u0964', '\u0965', '\u104a', '\u104b', '\u1362', '\u1367', '\u1368', '\u166e', '\u1735', '\u1736', '\u17d4', '\u17d5', '\u17d6', '\u17d9', '\u17da', '\u1803', '\u1809', '\u1944', '\u1945', '\u1aa8', '\u1aa9', '\u1aaa', '\u1aab', '\u1b5a', '\u1b5b', '\u1b5e', '\u1b5f', '\u1b7d', '\u1b7e', '\u1c3b', '\u1c3c', '\u1c7e', '\u1c7f', '\u203c', '\u203d', '\u2047', '\u2048', '\u2049', '\u2e2e', '\u2e3c', '\u2e53', '\u2e54', '\u3002', '\ua4ff', '\ua60e', '\ua60f', '\ua6f3', '\ua6f7', '\ua876', '\ua877', '\ua8ce', '\ua8cf', '\ua92f', '\ua9c8', '\ua9c9', '\uaa5d', '\uaa5e', '\uaa5f', '\uaaf0', '\uaaf1', '\uabeb', '\ufe52', '\ufe56', '\ufe57', '\uff01', '\uff0e', '\uff1f', '\uff61', '\u{10a56}', '\u{10a57}', '\u{10f55}', '\u{10f56}', '\u{10f57}', '\u{10f58}', '\u{10f59}', '\u{10f86}', '\u{10f87}', '\u{10f88}', '\u{10f89}', '\u{11047}', '\u{11048}', '\u{110be}', '\u{110bf}', '\u{110c0}', '\u{110c1}', '\u{11141}', '\u{11142}', '\u{11143}', '\u{111c5}', '\u{111c6}', '\u{111cd}', '\u{111de}', '\u{111df}', '\u{11238}', '\u{11239}', '\u{1123b}', '\u{1123c}', '\u{112a9}', '\u{1144b}', '\u{1144c}', '\u{115c2}', '\u{115c3}', '\u{115c9}', '\u{115ca}', '\u{115cb}', '\u{115cc}', '\u{115cd}', '\u{115ce}', '\u{115cf}', '\u{115d0}', '\u{115d1}', '\u{115d2}', '\u{115d3}', '\u{115d4}', '\u{115d5}', '\u{115d6}', '\u{115d7}', '\u{11641}', '\u{11642}', '\u{1173c}', '\u{1173d}', '\u{1173e}', '\u{11944}', '\u{11946}', '\u{11a42}', '\u{11a43}', '\u{11a9b}', '\u{11a9c}', '\u{11c41}', '\u{11c42}', '\u{11ef7}', '\u{11ef8}', '\u{11f43}', '\u{11f44}', '\u{16a6e}', '\u{16a6f}', '\u{16af5}', '\u{16b37}', '\u{16b38}', '\u{16b44}', '\u{16e98}', '\u{1bc9f}', '\u{1da88}']);

/** PUNCTUATION ∪ TERMINAL_PUNCTUATION. */
export const PUNCTUATION_SET: ReadonlySet<string> = new Set([...PUNCTUATION, ...TERMINAL_PUNCTUATION]);
