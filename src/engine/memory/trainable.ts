/**
 * Trainable parameters of a run from its config alone (before any tensor exists, so the memory
 * check can run before the backend starts): all of them (full), the unfrozen ones (freeze), or
 * the LoRA adapters (rank × (in + out) per targeted linear per layer).
 */
import type { LlamaConfig } from '../model/config';
import { freezeTrainableNames } from '../model/freeze';
import type { FinetuningArgs } from '../model/llama';
import { resolveLoraTarget } from '../model/lora';
import { linearShape, parameterShapes } from '../model/names';

export function trainableParameterCount(cfg: LlamaConfig, ft: FinetuningArgs): number {
  const shapes = parameterShapes(cfg);
  const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  switch (ft.finetuningType) {
    case 'full':
      return [...shapes.values()].reduce((a, s) => a + size(s), 0);
    case 'freeze': {
      let n = 0;
      for (const name of freezeTrainableNames(cfg, ft)) n += size(shapes.get(name) ?? []);
      return n;
    }
    case 'lora': {
      const rank = ft.rank ?? 8;
      let perLayer = 0;
      for (const m of resolveLoraTarget(ft.target)) {
        const [out, inp] = linearShape(cfg, m);
        perLayer += rank * (out + inp);
      }
      return perLayer * cfg.numHiddenLayers;
    }
  }
}
