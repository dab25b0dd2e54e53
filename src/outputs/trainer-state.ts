/**
 * The run's `TrainerState` and its `trainer_state.json`, written byte-for-byte as transformers 4.57
 * writes it (`json.dumps(asdict(state), indent=2, sort_keys=True) + "\n"`), and read back (for
 * resume) with validation whose errors name the file and key.
 *
 * Float-typed fields are written as Python floats even when integral (`"epoch": 3.0`,
 * `"total_flos": 0.0`): `epoch`, `total_flos`, `best_metric`, and every `log_history` value except
 * `step` and `num_input_tokens_seen`, which are ints.
 */
import {
  trainerStateSchema,
  type CallbackState,
  type LogEntry,
  type TrainerState,
} from '../../schemas/outputs/trainer-state';
import { PtflowError } from '../errors';
import { pyDumps, pyFloat, pyLoads, type PyValue } from './pyjson';
import { readTextIfExists, writeTextAtomic } from './write';

export type { CallbackState, LogEntry, TrainerState };

export const TRAINER_STATE_NAME = 'trainer_state.json';

/** `log_history` keys that hold Python ints; all others hold floats. */
export const LOG_INT_KEYS: ReadonlySet<string> = new Set(['step', 'num_input_tokens_seen']);

/** The flags of HF's `TrainerControl`, as saved under `stateful_callbacks.TrainerControl`. */
export interface ControlFlags {
  should_training_stop: boolean;
  should_epoch_stop: boolean;
  should_save: boolean;
  should_evaluate: boolean;
  should_log: boolean;
}

/** `TrainerControl.state()`: `{args: {flags}, attributes: {}}`; unset flags are false. */
export function trainerControlState(flags: Partial<ControlFlags> = {}): CallbackState {
  return {
    args: {
      should_training_stop: flags.should_training_stop ?? false,
      should_epoch_stop: flags.should_epoch_stop ?? false,
      should_save: flags.should_save ?? false,
      should_evaluate: flags.should_evaluate ?? false,
      should_log: flags.should_log ?? false,
    },
    attributes: {},
  };
}

/**
 * Record the `TrainerControl` flags as HF has them when it saves a checkpoint (`should_save` set,
 * `should_training_stop` set at the last step). The final `trainer_state.json` in output_dir keeps
 * what the last checkpoint recorded, as HF's `save_state` does.
 */
export function markCheckpointSave(state: TrainerState, isLastStep: boolean): void {
  state.stateful_callbacks = {
    ...state.stateful_callbacks,
    TrainerControl: trainerControlState({ should_save: true, should_training_stop: isLastStep }),
  };
}

/**
 * A fresh state with HF's dataclass defaults (as the Trainer creates it: `stateful_callbacks` holds
 * the `TrainerControl` with every flag false), overridden by `init`.
 */
export function createTrainerState(init: Partial<TrainerState> = {}): TrainerState {
  const base = trainerStateSchema.parse({});
  return {
    ...base,
    stateful_callbacks: { TrainerControl: trainerControlState() },
    ...init,
  };
}

function logEntryToPy(entry: LogEntry): PyValue {
  const out: { [key: string]: PyValue } = {};
  for (const [k, v] of Object.entries(entry)) out[k] = LOG_INT_KEYS.has(k) ? v : pyFloat(v);
  return out;
}

const floatOrNull = (x: number | null): PyValue => (x === null ? null : pyFloat(x));

/** The text of `trainer_state.json` for `state`. */
export function trainerStateToJson(state: TrainerState): string {
  const value: { [key: string]: PyValue } = {
    ...state,
    epoch: floatOrNull(state.epoch),
    total_flos: pyFloat(state.total_flos),
    best_metric: floatOrNull(state.best_metric),
    log_history: state.log_history.map(logEntryToPy),
  };
  return pyDumps(value, { indent: 2, sortKeys: true }) + '\n';
}

/** Parse and validate the text of a `trainer_state.json`; errors name `file` and the key. */
export function parseTrainerState(text: string, file: string): TrainerState {
  const raw = pyLoads(text, file);
  const result = trainerStateSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
    const extra = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
    throw new PtflowError(`${file}: key ${key}: ${issue.message}${extra}`);
  }
  return result.data;
}

/** Write `state` to `file` atomically (`TrainerState.save_to_json`). */
export async function saveTrainerState(file: string, state: TrainerState): Promise<void> {
  await writeTextAtomic(file, trainerStateToJson(state));
}

/** Read `file` back (`TrainerState.load_from_json`), validated. */
export async function loadTrainerState(file: string): Promise<TrainerState> {
  const text = await readTextIfExists(file);
  if (text === undefined) throw new PtflowError(`${file}: no such file (a checkpoint needs its ${TRAINER_STATE_NAME})`);
  return parseTrainerState(text, file);
}
