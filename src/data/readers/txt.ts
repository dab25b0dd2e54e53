/**
 * Plain-text reader: one line = one document, as HF's "text" builder (universal newlines: "\n",
 * "\r\n", "\r"; line breaks removed). Empty lines are kept as empty documents, because the
 * reference keeps them: HF yields "" rows and LLaMA-Factory turns each into `"" + eos_token`,
 * i.e. one EOS token in the packed stream. Bad data (invalid UTF-8, a corrupt compressed stream)
 * is an error naming file:line, or reported to `onBadRecord` and skipped (lines.ts).
 */
import { readLines } from './lines';
import type { Doc, ReadOptions } from './types';

export async function* readTxt(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let row = 0;
  for await (const { text, line, byte } of readLines(file, 'universal', opts.chunkBytes, opts.onBadRecord)) {
    yield { text, loc: { file, line, row: row++, byte } };
  }
}
