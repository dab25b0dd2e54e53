/**
 * Keys of LLaMA-Factory's `DataArguments` that matter for pre-training (stage pt), with
 * LLaMA-Factory's defaults.
 */
import { atLeast, bool, int, num, oneOf, optBool, optInt, optList, optNumList, optStr, rule, str } from './fields';

export const dataFields = {
  dataset: optList(
    'Training dataset name(s) from dataset_dir/dataset_info.json; comma-separated or a YAML list. ' +
      'Required with do_train.',
  ),
  eval_dataset: optList('Evaluation dataset name(s); exclusive with val_size.'),
  dataset_dir: str('data', 'Directory holding dataset_info.json and the data files.'),
  cutoff_len: int(2048, 'Tokens per packed block (packing) or the truncation length (no packing).', atLeast(2)),
  packing: optBool('Concatenate documents and cut them into blocks of cutoff_len tokens. null = true for stage pt.'),
  neat_packing: bool(
    false,
    'Packing without attention across document boundaries (cross-document masking). Implies packing. ' +
      '(LLaMA-Factory allows it for sft only; ptflow supports it for pt.)',
  ),
  max_samples: optInt('Use only the first N documents of each dataset (not with streaming).', atLeast(1)),
  val_size: num(
    0,
    'Validation split taken from the training documents before tokenisation: a fraction in [0, 1) ' +
      'or a whole number of documents > 1.',
    atLeast(0),
    rule((v) => v < 1 || (v > 1 && Number.isInteger(v)), 'must be a fraction in [0, 1) or a whole number of documents > 1'),
  ),
  streaming: bool(false, 'Read the datasets as a stream (shuffle buffer) instead of loading them first; needs max_steps.'),
  buffer_size: int(16384, 'Shuffle buffer size when streaming: documents, or blocks when streaming a tokenized cache.', atLeast(1)),
  mix_strategy: oneOf(
    ['concat', 'interleave_under', 'interleave_over'] as const,
    'concat',
    'How several datasets are mixed: concatenated, or interleaved stopping at the first (under) or ' +
      'last (over) exhausted dataset.',
  ),
  interleave_probs: optNumList(
    'Sampling probabilities for interleaved mixing, one per dataset (comma-separated).',
    rule((v) => v >= 0 && v <= 1, 'must be probabilities between 0 and 1'),
  ),
  tokenized_path: optStr('Directory of a tokenized-corpus cache: written if absent, read if present.'),
  overwrite_cache: bool(false, 'Re-tokenize even when a tokenized cache exists.'),
};
