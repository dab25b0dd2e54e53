// SentencePiece-style BPE (the demo's Mistral-7B tokenizer.json, Llama-2 layout) against the
// reference (@huggingface/tokenizers): special tokens in text, every short whitespace string,
// byte fallback, Metaspace layouts, normalized / stripping added tokens, and the refusals that keep
// cutting before "▁" exact.
import { Tokenizer } from '@huggingface/tokenizers';
import { loadFixture } from './fixtures';
import { createFastBpe, SentencePieceEncoder } from './index';
import { analyzeSentencePiece, BYTE_TOKENS, spaceMarkAfterChar } from './sp-spec';
import { HARD_CASES, randomTexts, seededRandomCodePoints } from './test-text';

type Json = Record<string, unknown>;

const demo = loadFixture('tiny-llama');
if (demo === null) throw new Error('examples/tiny-llama missing');
const demoJson = demo.tokenizerJson;
const demoModel = demoJson.model as { vocab: Record<string, number> };
const vocab = demoModel.vocab;

/** The reference and the fast encoder for one tokenizer.json, and a comparison over texts. */
function pair(tokenizerJson: Json, tokenizerConfig: Json = demo!.tokenizerConfig, cacheSize?: number) {
  const hf = new Tokenizer(tokenizerJson, tokenizerConfig);
  const made = createFastBpe(tokenizerJson, tokenizerConfig, { cacheSize });
  if (!made.ok) throw new Error(made.reason);
  expect(made.splitter).toBe('sentencepiece');
  const reference = (text: string): number[] => hf.encode(text, { add_special_tokens: false }).ids;
  const mismatches = (texts: readonly string[]) => {
    const out: { text: string; want: number[]; got: number[] }[] = [];
    for (const text of texts) {
      const want = reference(text);
      const got = Array.from(made.encoder.encode(text));
      if (want.length !== got.length || want.some((id, i) => id !== got[i])) out.push({ text, want, got });
    }
    return out.slice(0, 3);
  };
  return { reference, fast: made.encoder, mismatches };
}

const SPECIAL_CASES = [
  'abc</s>',
  '</s>abc',
  'a </s> b',
  '<s>text',
  '</s>',
  '</s></s>',
  ' </s> ',
  '<s> hi</s>',
  'x<unk>y',
  '<unk>',
  'end.\n</s>',
  '</s>\n\nnext',
  '<s',
  '</s',
  's>',
];

/** Every string of length 1..5 over these characters (whitespace runs, "▁" itself, a word character). */
function allShortStrings(chars: readonly string[], maxLength: number): string[] {
  const out: string[] = [];
  let level = [''];
  for (let len = 1; len <= maxLength; len++) {
    const next: string[] = [];
    for (const prefix of level) for (const c of chars) next.push(prefix + c);
    out.push(...next);
    level = next;
  }
  return out;
}

describe('the demo tokenizer (Prepend + Replace normalizer, byte fallback)', () => {
  const { reference, fast, mismatches } = pair(demoJson);

  test('special tokens in text, as LLaMA-Factory appends eos: hand-checked ids, then the reference', () => {
    // "abc</s>" → "▁abc" + </s>; "</s>abc" → </s> + "▁abc" (each text section gets its own "▁").
    expect(Array.from(fast.encode('abc</s>'))).toEqual([vocab['▁abc'], 2]);
    expect(Array.from(fast.encode('</s>abc'))).toEqual([2, vocab['▁abc']]);
    // "a " → "▁a▁" → "▁a" "▁";  " b" → "▁▁b" → "▁" "▁b".
    expect(Array.from(fast.encode('a </s> b'))).toEqual([vocab['▁a'], vocab['▁'], 2, vocab['▁'], vocab['▁b']]);
    expect(Array.from(fast.encode('<s>text'))).toEqual([1, vocab['▁text']]);
    expect(mismatches(SPECIAL_CASES)).toEqual([]);
  });

  test('every string of up to 5 characters from " ", "\\t", "\\n", "▁", "a", "." ', () => {
    const texts = allShortStrings([' ', '\t', '\n', '\u2581', 'a', '.'], 5);
    expect(texts.length).toBe(9330);
    expect(mismatches(texts)).toEqual([]);
  });

  test('whitespace runs around words: leading, trailing, inside, up to 20 spaces', () => {
    const texts: string[] = [];
    for (let k = 0; k <= 20; k++) {
      const s = ' '.repeat(k);
      texts.push(s, `${s}word`, `word${s}`, `a${s}b`, `${s}a${s}b${s}`, `\n${s}x`, `x${s}\n`, `\t${s}\t`, `${s}</s>${s}`);
    }
    expect(mismatches(texts)).toEqual([]);
  });

  test('byte fallback: characters outside the vocabulary become their UTF-8 <0xNN> tokens', () => {
    // U+4E08 is not in the vocabulary: e4 b8 88.
    expect(vocab['\u4e08']).toBeUndefined();
    const bytes = [0xe4, 0xb8, 0x88].map((b) => vocab[BYTE_TOKENS[b]]);
    expect(Array.from(fast.encode('\u4e08'))).toEqual([vocab['▁'], ...bytes]);
    // A lone surrogate is encoded as U+FFFD (ef bf bd), like TextEncoder.
    expect(mismatches(['\ud800', 'a\udc00b', '\ud83d', '\ud83d\ude00\ud83d'])).toEqual([]);
    expect(mismatches(seededRandomCodePoints(1500, 7))).toEqual([]);
  });

  test('hard cases and random strings', () => {
    expect(mismatches(HARD_CASES)).toEqual([]);
    expect(mismatches(randomTexts(1500, 4242, 40))).toEqual([]);
  });

  test('long words merge like the reference (heap path): no spaces, long "▁" runs', () => {
    const texts = ['x'.repeat(2000), 'ab'.repeat(600), ' '.repeat(700) + 'x', '中文'.repeat(300), 'a\u2581'.repeat(200)];
    expect(mismatches(texts)).toEqual([]);
    expect(reference('').length).toBe(0);
  });

  test('a tiny piece cache gives the same ids', () => {
    const texts = randomTexts(200, 5);
    const small = createFastBpe(demoJson, demo!.tokenizerConfig, { cacheSize: 3 });
    if (!small.ok) throw new Error(small.reason);
    expect(texts.map((t) => Array.from(small.encoder.encode(t)))).toEqual(texts.map((t) => Array.from(fast.encode(t))));
  });
});

describe('layout variants built from the demo file', () => {
  test.each(['always', 'first', 'never'] as const)('Metaspace pre-tokenizer, prepend_scheme %s, no normalizer', (scheme) => {
    const json = {
      ...demoJson,
      normalizer: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: false },
    };
    const { mismatches } = pair(json);
    expect(mismatches([...SPECIAL_CASES, ...HARD_CASES.slice(0, 40), '\u2581already', ' \u2581x', ...randomTexts(300, 11)])).toEqual([]);
  });

  test('added tokens: normalized (matched after "▁" is added), lstrip/rstrip, overriding a vocabulary string', () => {
    const added = [
      ...(demoJson.added_tokens as Json[]),
      { id: 32000, content: '<pad>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
      { id: 32001, content: 'hello world', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: 32002, content: '<sep>', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: 32003, content: '▁the', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
    ];
    const json = { ...demoJson, added_tokens: added };
    const { mismatches, fast } = pair(json);
    const texts = [
      '<pad>',
      'a<pad>',
      'a <pad>',
      '  <pad>  ',
      'say hello world now',
      'hello world',
      'x <sep> y',
      'x<sep>y',
      '  <sep>  ',
      'the theory',
      'in the end',
      '▁the',
      ...SPECIAL_CASES,
      ...randomTexts(300, 12),
    ];
    expect(mismatches(texts)).toEqual([]);
    // "x <sep> y": lstrip/rstrip take the spaces, so "x" and "y" are whole sections.
    expect(Array.from(fast.encode('x <sep> y'))).toEqual([vocab['▁x'], 32002, vocab['▁y']]);
  });
});

describe('refusals', () => {
  const demoConfig = demo.tokenizerConfig;
  const withModel = (patch: Json): Json => ({ ...demoJson, model: { ...(demoJson.model as Json), ...patch } });

  test('the demo and Llama-2 vocabularies have no "▁" after another character', () => {
    expect(Object.keys(vocab).filter((t) => spaceMarkAfterChar(t) >= 0)).toEqual([]);
    expect(spaceMarkAfterChar('\u2581\u2581a')).toBe(-1);
    expect(spaceMarkAfterChar('a\u2581')).toBe(1);
    expect(spaceMarkAfterChar('\u2581\u2581a\u2581')).toBe(3);
    const llama2 = loadFixture('llama2');
    if (llama2 === null) throw new Error('llama-tokenizer-js missing: run npm install');
    expect(analyzeSentencePiece(llama2.tokenizerJson, llama2.tokenizerConfig).ok).toBe(true);
  });

  test('a merge across "▁" changes the reference ids, so such files are refused', () => {
    // Tiny vocabulary where "a▁" exists: the reference merges "▁a▁b" as "▁" "a▁" "b", while
    // cutting before the second "▁" would give "▁" "a" | "▁b".
    const small: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
    BYTE_TOKENS.forEach((b, i) => {
      small[b] = 3 + i;
    });
    Object.assign(small, { '\u2581': 259, a: 260, b: 261, 'a\u2581': 262, '\u2581b': 263 });
    const json = withModel({ vocab: small, merges: ['a \u2581', '\u2581 b'] });
    const hf = new Tokenizer(json, demoConfig);
    expect(hf.encode('a b', { add_special_tokens: false }).ids).toEqual([259, 262, 261]);
    const made = createFastBpe(json, demoConfig);
    expect(made.ok).toBe(false);
    if (!made.ok) expect(made.reason).toContain('vocabulary token "a▁"');
    // Same merge with its result missing from the vocabulary: refused on the merge.
    const noToken = { ...small };
    delete noToken['a\u2581'];
    const bad = analyzeSentencePiece(withModel({ vocab: noToken, merges: ['a \u2581'] }), demoConfig);
    expect(bad).toEqual({ ok: false, reason: 'merge 0 ("a" "▁") puts "▁" after another character' });
  });

  test('no byte fallback, a missing byte token, ignore_merges, other normalizers, remove_space', () => {
    const reason = (json: Json, config: Json = demoConfig): string => {
      const r = analyzeSentencePiece(json, config);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason(withModel({ byte_fallback: false }))).toContain('without byte_fallback');
    const missing = { ...vocab };
    delete missing['<0x41>'];
    expect(reason(withModel({ vocab: missing }))).toBe('byte-fallback token <0x41> is not in the vocabulary');
    expect(reason(withModel({ ignore_merges: true }))).toContain('ignore_merges');
    expect(reason({ ...demoJson, normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }] } })).toContain(
      'is not Prepend',
    );
    expect(reason({ ...demoJson, normalizer: { type: 'NFKC' } })).toContain('normalizer is not a Sequence');
    expect(reason({ ...demoJson, pre_tokenizer: { type: 'Metaspace', replacement: '_' } })).toContain('with a pre-tokenizer');
    expect(reason({ ...demoJson, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '_' } })).toContain('not a Metaspace');
    expect(reason(demoJson, { ...demoConfig, remove_space: true })).toBe('tokenizer_config remove_space');
    const both = createFastBpe(withModel({ byte_fallback: false }), demoConfig);
    expect(both.ok ? '' : both.reason).toMatch(/^not byte-level BPE \(.*\); not SentencePiece-style BPE \(.*byte_fallback.*\)$/);
  });

  test('a merge that uses a string outside the vocabulary is refused by the encoder', () => {
    const r = analyzeSentencePiece(withModel({ merges: ['q z', ...(demoJson.model as { merges: string[] }).merges] }), demoConfig);
    if (!r.ok) throw new Error(r.reason);
    expect(() => new SentencePieceEncoder(r.spec)).toThrow('merge 0 ("q" "z") uses a token that is not in the vocabulary');
  });
});
