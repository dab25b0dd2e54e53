/**
 * The training configuration: `loadTrainConfig(yamlPath, overrides)` → `{ config, warnings }`,
 * the `TrainConfig` type, the key listing for `--help`, and path / step-interval helpers.
 */
export { loadTrainConfig, resolveConfig, type LoadedConfig } from './load';
export { parseOverrides, parseOverrideValue, type OverrideEntry } from './overrides';
export { configHelpText, listConfigKeys, CONFIG_KEYS, type ConfigKeyInfo, type ConfigGroup, type TrainConfig } from './schema';
export { resolveRelativePaths, PATH_KEYS } from './paths';
export { resolveStepInterval } from './step-interval';
export { FOREIGN_KEYS, KEY_ALIASES } from './foreign-keys';
export { SCHEDULER_KWARGS } from './rules';
export { LR_SCHEDULERS } from './schema-training';
