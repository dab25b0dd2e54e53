/**
 * CardActor: a nact actor on the main thread. Once the trainer (or evaluator) is done it writes what
 * LLaMA-Factory's workflow writes after training: `train_results.json`, `eval_results.json`,
 * `all_results.json`, the loss plots (`plot_loss`), and the `README.md` model card.
 *
 * `runCardActor` spawns it, asks it to write, and returns the files written; an error inside the
 * actor comes back as a rejection (nact's query would otherwise just time out).
 */
import path from 'node:path';
import { dispatch, query, spawn, start, stop, type Ref } from 'nact';
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

type CardMessage = { inputs: CardInputs; replyTo: Ref<CardReply> };
type CardReply = { ok: true; written: string[] } | { ok: false; error: Error };

/** Writing plots and the card takes seconds, not minutes; a stuck file system should not hang forever. */
const CARD_TIMEOUT_MS = 10 * 60 * 1000;

export async function runCardActor(inputs: CardInputs): Promise<string[]> {
  const system = start();
  try {
    const card = spawn(
      system,
      async (state: null, msg: CardMessage) => {
        try {
          dispatch(msg.replyTo, { ok: true, written: await writeCard(msg.inputs) });
        } catch (error) {
          dispatch(msg.replyTo, { ok: false, error: error as Error });
        }
        return state;
      },
      'CardActor',
      { initialState: null },
    );
    const reply = await query(card, (replyTo: Ref<CardReply>) => ({ inputs, replyTo }), CARD_TIMEOUT_MS);
    if (!reply.ok) throw reply.error;
    return reply.written;
  } finally {
    stop(system);
  }
}
