/**
 * CardActor: runs on the main thread once the trainer (or evaluator) is done and writes what
 * LLaMA-Factory's workflow writes after training: `train_results.json`, `eval_results.json`,
 * `all_results.json`, the loss plots (`plot_loss`), and the `README.md` model card.
 */
import path from 'node:path';
import type { TrainConfig } from '../src/config';
import { saveMetrics } from '../src/outputs/results';
import { plotLoss } from '../src/outputs/plot';
import { writeModelCard } from '../src/outputs/model-card';
import type { TrainerResult } from './TrainerActor';

export interface CardInputs {
  config: TrainConfig;
  trainer: TrainerResult | null;
  evalMetrics: Record<string, number> | null;
}

export async function writeCard({ config: c, trainer, evalMetrics }: CardInputs): Promise<string[]> {
  const written: string[] = [];
  if (trainer) {
    await saveMetrics(c.output_dir, 'train', trainer.train_metrics);
    written.push('train_results.json');
    if (c.plot_loss) {
      written.push(...(await plotLoss(c.output_dir, trainer.plot_history, ['loss', 'eval_loss'])).map((f) => path.basename(f)));
    }
  }
  if (evalMetrics) {
    await saveMetrics(c.output_dir, 'eval', evalMetrics);
    written.push('eval_results.json');
  }
  if (trainer) {
    await writeModelCard(c.output_dir, {
      config: c,
      logHistory: trainer.log_history,
      evalMetrics,
      backend: trainer.backend,
    });
    written.push('README.md');
  }
  return written;
}
