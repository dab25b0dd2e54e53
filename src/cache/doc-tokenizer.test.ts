/**
 * OrderedTokenizer inline (one thread) gives exactly the ids of tokenizeBatch, the task the pool
 * threads and TokenizerActor run on RawDocs messages — including the message's one effect on text,
 * a lone UTF-16 surrogate read as U+FFFD.
 */
import { encodeRawDocs } from '../../schemas/raw-docs';
import { decodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { tokenizeBatch } from '../data/tokenize-batch';
import { tinyModelDir, tmpDir } from '../../test/helpers';
import { OrderedTokenizer } from './doc-tokenizer';

it('inline tokenizing equals tokenizeBatch on RawDocs, lone surrogates included', async () => {
  const model = tinyModelDir(tmpDir('ptflow-doc-tok-'));
  const texts = ['In the beginning God created the heaven and the earth.', '', 'half a pair: \ud800 and \udc00 here', 'a pair 😀 é ü'];
  const docIds = [7, 8, 9, 10];
  const t = new OrderedTokenizer(model, 1);
  const got: { ids: number[][]; docIds: number[] }[] = [];
  t.onBatch((ids, d) => void got.push({ ids: ids.map((a) => Array.from(a)), docIds: Array.from(d, Number) }));
  try {
    await t.push(texts, docIds);
    await t.finish();
  } finally {
    await t.close();
  }
  const ref = decodeTokenizedDocs(tokenizeBatch(model, encodeRawDocs(texts.map((text, i) => ({ docId: docIds[i], source: '', text }))), { packing: true, cutoffLen: 1 }).payload);
  expect(got).toEqual([{ ids: ref.inputIds.map((a) => Array.from(a)), docIds }]);
});
