/**
 * Learning-rate schedules as Hugging Face transformers 4.57 `get_scheduler` builds them (a
 * `LambdaLR`: lr = baseLr × λ(step)), as pure functions. `lrAt(step)` is the rate applied in
 * optimizer step `step + 1` (`step` = optimizer steps already taken). `lr_scheduler_kwargs` are
 * validated per schedule; for `warmup_stable_decay` LLaMA-Factory's defaults are applied first
 * (num_stable_steps = (total − warmup) // 3, num_decay_steps = the rest, each only when absent).
 */
import { z } from 'zod';
import { usageError } from '../../errors';

export const SCHEDULER_TYPES = [
  'linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup',
  'inverse_sqrt', 'cosine_with_min_lr', 'warmup_stable_decay',
] as const;
export type SchedulerType = (typeof SCHEDULER_TYPES)[number];

export interface LrScheduleSpec {
  type: SchedulerType;
  baseLr: number;
  /** Already resolved (see `resolveWarmupSteps`). */
  warmupSteps: number;
  totalSteps: number;
  /** `lr_scheduler_kwargs`. */
  kwargs?: Record<string, unknown>;
}

export interface LrSchedule {
  /** λ(step): the factor applied to the base rate. */
  lambda(step: number): number;
  /** Learning rate applied in optimizer step `step + 1`. */
  lrAt(step: number): number;
}

/** HF's `TrainingArguments.get_warmup_steps`: `warmup_steps` if > 0, else ceil(ratio × total). */
export function resolveWarmupSteps(warmupSteps: number, warmupRatio: number, totalSteps: number): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}

const warmupLinear = (step: number, warmup: number): number => step / Math.max(1, warmup);

const NoKwargs = z.object({}).strict();
const CosineKwargs = z.object({ num_cycles: z.number().default(0.5) }).strict();
const RestartsKwargs = z.object({ num_cycles: z.number().default(1) }).strict();
const PolyKwargs = z.object({ lr_end: z.number().default(1e-7), power: z.number().default(1.0) }).strict();
const MinLrKwargs = z
  .object({ num_cycles: z.number().default(0.5), min_lr: z.number().optional(), min_lr_rate: z.number().optional() })
  .strict();
const Phase = z.enum(['linear', 'cosine', '1-sqrt']);
const WsdKwargs = z
  .object({
    num_stable_steps: z.number().int(),
    num_decay_steps: z.number().int(),
    warmup_type: Phase.default('linear'),
    decay_type: Phase.default('cosine'),
    min_lr_ratio: z.number().default(0),
    num_cycles: z.number().default(0.5),
  })
  .strict();

function parseKwargs<T extends z.ZodType>(schema: T, type: string, kwargs: Record<string, unknown>): z.infer<T> {
  const r = schema.safeParse(kwargs);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
    const why = issue.code === 'unrecognized_keys' ? `not accepted by the ${type} schedule` : issue.message;
    throw usageError(`lr_scheduler_kwargs.${key}: ${why}`);
  }
  return r.data;
}

/** λ for `type` (HF's `_get_*_lr_lambda` functions). */
function makeLambda(spec: LrScheduleSpec): (step: number) => number {
  const { type, warmupSteps: W, totalSteps: T, baseLr } = spec;
  const kw = spec.kwargs ?? {};
  switch (type) {
    case 'constant':
      parseKwargs(NoKwargs, type, kw);
      return () => 1;
    case 'constant_with_warmup':
      parseKwargs(NoKwargs, type, kw);
      return (s) => (s < W ? s / Math.max(1, W) : 1);
    case 'linear':
      parseKwargs(NoKwargs, type, kw);
      return (s) => (s < W ? warmupLinear(s, W) : Math.max(0, (T - s) / Math.max(1, T - W)));
    case 'cosine': {
      const { num_cycles } = parseKwargs(CosineKwargs, type, kw);
      return (s) => {
        if (s < W) return warmupLinear(s, W);
        const progress = (s - W) / Math.max(1, T - W);
        return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * num_cycles * 2 * progress)));
      };
    }
    case 'cosine_with_restarts': {
      const { num_cycles } = parseKwargs(RestartsKwargs, type, kw);
      return (s) => {
        if (s < W) return warmupLinear(s, W);
        const progress = (s - W) / Math.max(1, T - W);
        if (progress >= 1) return 0;
        return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * pyMod(num_cycles * progress, 1))));
      };
    }
    case 'polynomial': {
      const { lr_end, power } = parseKwargs(PolyKwargs, type, kw);
      const lrInit = baseLr;
      if (!(lrInit > lr_end)) throw usageError(`lr_scheduler_kwargs.lr_end (${lr_end}) must be smaller than learning_rate (${lrInit})`);
      return (s) => {
        if (s < W) return warmupLinear(s, W);
        if (s > T) return lr_end / lrInit;
        const decaySteps = T - W;
        if (decaySteps === 0) return lr_end / lrInit;
        const pctRemaining = 1 - (s - W) / decaySteps;
        return ((lrInit - lr_end) * pctRemaining ** power + lr_end) / lrInit;
      };
    }
    case 'inverse_sqrt': {
      parseKwargs(NoKwargs, type, kw);
      const timescale = W || 10_000;
      return (s) => {
        if (s < W) return warmupLinear(s, W);
        const shift = timescale - W;
        return 1 / Math.sqrt((s + shift) / timescale);
      };
    }
    case 'cosine_with_min_lr': {
      const k = parseKwargs(MinLrKwargs, type, kw);
      if (k.min_lr !== undefined && k.min_lr_rate !== undefined) throw usageError('lr_scheduler_kwargs: set only one of min_lr and min_lr_rate');
      const minRate = k.min_lr !== undefined ? k.min_lr / baseLr : k.min_lr_rate;
      if (minRate === undefined) throw usageError('lr_scheduler_kwargs: cosine_with_min_lr needs min_lr or min_lr_rate');
      return (s) => {
        if (s < W) return warmupLinear(s, W);
        const progress = (s - W) / Math.max(1, T - W);
        const f = 0.5 * (1 + Math.cos(Math.PI * k.num_cycles * 2 * progress));
        return Math.max(0, f * (1 - minRate) + minRate);
      };
    }
    case 'warmup_stable_decay': {
      // LLaMA-Factory (create_custom_scheduler) fills in each of these only when absent.
      const remaining = T - W;
      const withDefaults: Record<string, unknown> = { ...kw };
      if (!('num_stable_steps' in withDefaults)) withDefaults.num_stable_steps = Math.floor(remaining / 3);
      if (!('num_decay_steps' in withDefaults)) withDefaults.num_decay_steps = remaining - Math.floor(remaining / 3);
      const k = parseKwargs(WsdKwargs, type, withDefaults);
      return (s) => wsdLambda(s, W, k.num_stable_steps, k.num_decay_steps, k.warmup_type, k.decay_type, k.min_lr_ratio, k.num_cycles);
    }
  }
}

/** transformers' `_get_wsd_scheduler_lambda`. */
export function wsdLambda(
  s: number, warmup: number, stable: number, decay: number,
  warmupType: 'linear' | 'cosine' | '1-sqrt', decayType: 'linear' | 'cosine' | '1-sqrt',
  minLrRatio: number, numCycles: number,
): number {
  if (s < warmup) {
    const progress = s / Math.max(1, warmup);
    const f = warmupType === 'linear' ? progress : warmupType === 'cosine' ? 0.5 * (1 - Math.cos(Math.PI * progress)) : 1 - Math.sqrt(1 - progress);
    return Math.max(0, f * (1 - minLrRatio) + minLrRatio);
  }
  if (s < warmup + stable) return 1;
  if (s < warmup + stable + decay) {
    const progress = (s - warmup - stable) / Math.max(1, decay);
    const f = decayType === 'linear' ? 1 - progress : decayType === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)) : 1 - Math.sqrt(progress);
    return Math.max(0, f * (1 - minLrRatio) + minLrRatio);
  }
  return minLrRatio;
}

/** Python's float `%` (result has the sign of the divisor). */
function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export function makeLrSchedule(spec: LrScheduleSpec): LrSchedule {
  if (!(SCHEDULER_TYPES as readonly string[]).includes(spec.type)) {
    throw usageError(`lr_scheduler_type: unknown schedule ${JSON.stringify(spec.type)} (one of ${SCHEDULER_TYPES.join(', ')})`);
  }
  if (!Number.isInteger(spec.warmupSteps) || spec.warmupSteps < 0) throw usageError(`warmup_steps: must be a non-negative integer, got ${spec.warmupSteps}`);
  if (!Number.isInteger(spec.totalSteps) || spec.totalSteps < 0) throw usageError(`max_steps: total steps must be a non-negative integer, got ${spec.totalSteps}`);
  const lambda = makeLambda(spec);
  return { lambda, lrAt: (step) => spec.baseLr * lambda(step) };
}
