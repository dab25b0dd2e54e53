// Encoder rules on a tiny hand-made byte-level tokenizer (token id = byte value for single bytes),
// with ids worked out by hand and checked against the reference as well: ignore_merges, added
// tokens with lstrip/rstrip, NFC-normalized added tokens, ByteLevel's prefix space.
import { Tokenizer } from '@huggingface/tokenizers';
import { BYTE_TO_CHAR } from './byte-level';
import { createFastBpe } from './index';

const ch = (b: number): string => String.fromCharCode(BYTE_TO_CHAR[b]);
const LLAMA3_SPLIT = {
  type: 'Split',
  pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
  behavior: 'Isolated',
  invert: false,
};

interface Options {
  ignoreMerges?: boolean;
  added?: { id: number; content: string; lstrip?: boolean; rstrip?: boolean; normalized?: boolean; special?: boolean }[];
  normalizer?: unknown;
  preTokenizer?: unknown;
}

/** vocab: bytes 0..255, then "ca" = 256, "Ġcat" = 257 (no merge builds it). merges: c a. */
function tinyTokenizer(o: Options): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[ch(b)] = b;
  vocab['ca'] = 256;
  vocab['Ġcat'] = 257;
  return {
    normalizer: o.normalizer ?? null,
    pre_tokenizer: o.preTokenizer ?? { type: 'Sequence', pretokenizers: [LLAMA3_SPLIT, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] },
    post_processor: null,
    decoder: null,
    added_tokens: (o.added ?? []).map((t) => ({ single_word: false, lstrip: false, rstrip: false, special: true, normalized: false, ...t })),
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: o.ignoreMerges ?? false, vocab, merges: [['c', 'a']] },
  };
}

function both(json: Record<string, unknown>, text: string): { fast: number[]; reference: number[] } {
  const made = createFastBpe(json, {});
  if (!made.ok) throw new Error(made.reason);
  const hf = new Tokenizer(json as ConstructorParameters<typeof Tokenizer>[0], {});
  return { fast: Array.from(made.encoder.encode(text)), reference: hf.encode(text, { add_special_tokens: false }).ids };
}

const SP = 0x20;
const c = 0x63, a = 0x61, t = 0x74, b = 0x62, x = 0x78, y = 0x79, h = 0x68, i = 0x69;

test('ignore_merges: a piece that is itself in the vocabulary is one token', () => {
  expect(both(tinyTokenizer({ ignoreMerges: true }), ' cat')).toEqual({ fast: [257], reference: [257] });
  expect(both(tinyTokenizer({ ignoreMerges: false }), ' cat')).toEqual({ fast: [SP, 256, t], reference: [SP, 256, t] });
  expect(both(tinyTokenizer({ ignoreMerges: true }), 'cats')).toEqual({ fast: [256, t, 0x73], reference: [256, t, 0x73] });
});

test('added tokens: lstrip/rstrip eat the whitespace beside them', () => {
  const strip = tinyTokenizer({ added: [{ id: 300, content: '<x>', lstrip: true, rstrip: true }] });
  expect(both(strip, 'a  <x>  b')).toEqual({ fast: [a, 300, b], reference: [a, 300, b] });
  const keep = tinyTokenizer({ added: [{ id: 300, content: '<x>' }] });
  const want = [a, SP, SP, 300, SP, SP, b];
  expect(both(keep, 'a  <x>  b')).toEqual({ fast: want, reference: want });
});

test('normalized added tokens match after NFC', () => {
  const json = tinyTokenizer({ normalizer: { type: 'NFC' }, added: [{ id: 301, content: 'e\u0301', normalized: true, special: false }] });
  const want = [x, 301, y];
  expect(both(json, 'xe\u0301y')).toEqual({ fast: want, reference: want });
  expect(both(json, 'x\u00e9y')).toEqual({ fast: want, reference: want });
});

test('ByteLevel alone with add_prefix_space puts a space before each section', () => {
  const json = tinyTokenizer({
    preTokenizer: { type: 'ByteLevel', add_prefix_space: true, use_regex: true },
    added: [{ id: 300, content: '<x>' }],
  });
  expect(both(json, 'hi')).toEqual({ fast: [SP, h, i], reference: [SP, h, i] });
  expect(both(json, '<x>hi')).toEqual({ fast: [300, SP, h, i], reference: [300, SP, h, i] });
  expect(both(json, ' hi')).toEqual({ fast: [SP, h, i], reference: [SP, h, i] });
});

test('a merge whose parts are not in the vocabulary makes the file unsupported', () => {
  const json = tinyTokenizer({});
  (json.model as { merges: string[][] }).merges.push(['q', 'zz']);
  const made = createFastBpe(json, {});
  expect(made.ok).toBe(false);
  if (!made.ok) expect(made.reason).toBe('merge 1 ("q" "zz") uses a token that is not in the vocabulary');
});

test('two tokens with one id make the file unsupported (merges run on ids)', () => {
  const json = tinyTokenizer({});
  const model = json.model as { vocab: Record<string, number>; merges: string[][] };
  model.vocab['ab'] = 256;
  model.merges.push(['a', 'b']);
  const made = createFastBpe(json, {});
  expect(made.ok).toBe(false);
  if (!made.ok) expect(made.reason).toBe('tokens "ca" and "ab" share id 256');
  delete model.vocab['ab'];
  model.vocab['zz'] = 256; // shares an id but never comes out of merging: harmless
  model.merges.pop();
  expect(createFastBpe(json, {}).ok).toBe(true);
});
