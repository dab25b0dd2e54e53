/**
 * A user-written telemetry sink: sits before TrainerActor on the batches edge, appends one CSV line per
 * training micro-batch (rows, real tokens, padding) to `file`, and passes every batch on unchanged.
 * Used by examples/filtered.yaml:
 *
 *   - actor: ./actors/batch_stats_csv.ts
 *     before: TrainerActor
 *     options: { file: saves/tiny-llama-filtered/batch_stats.csv }
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineActor, z, type RecordBatch } from 'ptflow';

export default defineActor({
  name: 'batch_stats_csv',
  input: 'batches',
  output: 'batches',
  options: z.object({ file: z.string().min(1) }),
  init(o) {
    mkdirSync(path.dirname(o.file), { recursive: true });
    writeFileSync(o.file, 'batch,rows,width,tokens,padding\n');
    return { file: o.file, n: 0 };
  },
  process(batch: RecordBatch, s, ctx) {
    const mask = batch.getChild('attention_mask')!;
    const width = batch.numRows > 0 ? mask.type.listSize : 0;
    let tokens = 0;
    for (const row of mask) for (const v of row) tokens += v;
    appendFileSync(s.file, `${s.n++},${batch.numRows},${width},${tokens},${batch.numRows * width - tokens}\n`);
    ctx.count('tokens', tokens);
    return batch;
  },
});
