/**
 * Relative paths in a configuration are relative to the current working directory, as in
 * LLaMA-Factory (it passes them to Python unchanged), not to the YAML file's directory.
 * `resolveRelativePaths` makes them absolute once, so later modules never depend on the CWD.
 */
import { isAbsolute, resolve } from 'node:path';
import type { TrainConfig } from './schema';

/** The keys holding file-system paths. */
export const PATH_KEYS = ['model_name_or_path', 'dataset_dir', 'tokenized_path', 'output_dir', 'logging_dir', 'resume_from_checkpoint'] as const;

/** A copy of `config` with every path key absolute, relative ones resolved against `baseDir` (default: the CWD). */
export function resolveRelativePaths(config: TrainConfig, baseDir: string = process.cwd()): TrainConfig {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const opt = (p: string | null): string | null => (p === null ? null : abs(p));
  return {
    ...config,
    model_name_or_path: abs(config.model_name_or_path),
    dataset_dir: abs(config.dataset_dir),
    tokenized_path: opt(config.tokenized_path),
    output_dir: abs(config.output_dir),
    logging_dir: opt(config.logging_dir),
    resume_from_checkpoint: typeof config.resume_from_checkpoint === 'string' ? abs(config.resume_from_checkpoint) : config.resume_from_checkpoint,
  };
}
