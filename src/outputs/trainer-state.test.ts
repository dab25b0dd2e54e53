// The expected file text is what transformers' TrainerState.save_to_json (json.dumps(asdict(state),
// indent=2, sort_keys=True) + "\n") printed in CPython 3.11 for the same state and log values.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PtflowError } from '../errors';
import { evalLogEntry, finalTrainLogEntry, trainLogEntry } from './log-entries';
import {
  createTrainerState,
  loadTrainerState,
  markCheckpointSave,
  parseTrainerState,
  saveTrainerState,
  trainerControlState,
  trainerStateToJson,
} from './trainer-state';

const EXPECTED = `{
  "best_global_step": null,
  "best_metric": null,
  "best_model_checkpoint": null,
  "epoch": 2.0,
  "eval_steps": 2,
  "global_step": 4,
  "is_hyper_param_search": false,
  "is_local_process_zero": true,
  "is_world_process_zero": true,
  "log_history": [
    {
      "epoch": 0.5,
      "grad_norm": 3.5,
      "learning_rate": 5e-05,
      "loss": 10.1235,
      "step": 2
    },
    {
      "epoch": 0.5,
      "eval_loss": 9.87654321,
      "eval_runtime": 0.1235,
      "eval_samples_per_second": 64.8,
      "eval_steps_per_second": 32.4,
      "step": 2
    },
    {
      "epoch": 1.0,
      "grad_norm": 2.0,
      "learning_rate": 2.5e-05,
      "loss": 9.0,
      "step": 4
    },
    {
      "epoch": 2.0,
      "step": 4,
      "total_flos": 12345678.0,
      "train_loss": 9.5617,
      "train_runtime": 10.0,
      "train_samples_per_second": 0.8,
      "train_steps_per_second": 0.4
    }
  ],
  "logging_steps": 2,
  "max_steps": 4,
  "num_input_tokens_seen": 0,
  "num_train_epochs": 2,
  "save_steps": 4,
  "stateful_callbacks": {
    "TrainerControl": {
      "args": {
        "should_epoch_stop": false,
        "should_evaluate": false,
        "should_log": false,
        "should_save": true,
        "should_training_stop": true
      },
      "attributes": {}
    }
  },
  "total_flos": 12345678.0,
  "train_batch_size": 2,
  "trial_name": null,
  "trial_params": null
}
`;

function finishedState() {
  return createTrainerState({
    epoch: 2,
    global_step: 4,
    max_steps: 4,
    logging_steps: 2,
    eval_steps: 2,
    save_steps: 4,
    train_batch_size: 2,
    num_train_epochs: 2,
    total_flos: 12345678,
    stateful_callbacks: { TrainerControl: trainerControlState({ should_save: true, should_training_stop: true }) },
    log_history: [
      trainLogEntry({ meanLoss: 10.123456, gradNorm: 3.5, learningRate: 5e-5, epoch: 0.5, step: 2 }),
      evalLogEntry({ loss: 9.87654321, runtimeSeconds: 0.123456789, numSamples: 8, numSteps: 4, epoch: 0.5, step: 2 }),
      trainLogEntry({ meanLoss: 9, gradNorm: 2, learningRate: 2.5e-5, epoch: 1, step: 4 }),
      finalTrainLogEntry({ runtimeSeconds: 10, numSamples: 8, numSteps: 4, totalFlos: 12345678, trainLoss: 9.5617, epoch: 2, step: 4 }),
    ],
  });
}

describe('trainer_state.json', () => {
  test('is written byte-for-byte as transformers writes it', () => {
    expect(trainerStateToJson(finishedState())).toBe(EXPECTED);
  });

  test('a fresh state has the dataclass defaults', () => {
    const s = createTrainerState();
    expect(s).toMatchObject({ epoch: null, global_step: 0, logging_steps: 500, train_batch_size: null, log_history: [] });
    expect(trainerStateToJson(s)).toContain('"total_flos": 0.0,');
    expect(trainerStateToJson(s)).toContain('"should_save": false');
  });

  test('markCheckpointSave records the TrainerControl flags HF has at a save', () => {
    const s = finishedState();
    s.stateful_callbacks = { EarlyStoppingCallback: { args: { early_stopping_patience: 5 }, attributes: {} } };
    markCheckpointSave(s, false);
    expect(s.stateful_callbacks.TrainerControl).toEqual(trainerControlState({ should_save: true }));
    expect(s.stateful_callbacks.EarlyStoppingCallback).toBeDefined();
    markCheckpointSave(s, true);
    expect(trainerStateToJson(s)).toContain('"should_save": true,\n        "should_training_stop": true');
  });

  test('round-trips through a file, byte for byte', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-state-'));
    const file = path.join(dir, 'checkpoint-4', 'trainer_state.json');
    await saveTrainerState(file, finishedState());
    const back = await loadTrainerState(file);
    expect(back).toEqual(finishedState());
    expect(trainerStateToJson(back)).toBe(EXPECTED);
  });

  test('reads NaN / Infinity grad norms and older files without the newer keys', () => {
    const text = '{"global_step": 3, "epoch": 1.0, "log_history": [{"loss": 1.5, "grad_norm": NaN, "step": 1}, {"loss": 1.5, "grad_norm": Infinity, "step": 2}]}';
    const s = parseTrainerState(text, 'old/trainer_state.json');
    expect(Number.isNaN(s.log_history[0].grad_norm)).toBe(true);
    expect(s.log_history[1].grad_norm).toBe(Infinity);
    expect(s.best_global_step).toBeNull();
    expect(s.stateful_callbacks).toEqual({});
    expect(trainerStateToJson(s)).toContain('"grad_norm": NaN,');
  });

  test('bad files are errors naming the file and key', async () => {
    expect(() => parseTrainerState('{"global_step": 1.5}', 'run/trainer_state.json')).toThrow(
      /run\/trainer_state\.json: key global_step:/,
    );
    expect(() => parseTrainerState('{"log_history": [{"loss": 1}]}', 'a.json')).toThrow(/a\.json: key log_history\.0/);
    expect(() => parseTrainerState('{"bogus": 1}', 'a.json')).toThrow(/a\.json: key \(top level\).*bogus/);
    expect(() => parseTrainerState('{"global_step": }', 'a.json')).toThrow(PtflowError);
    const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-state-'));
    await expect(loadTrainerState(path.join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: no such file/);
    writeFileSync(path.join(dir, 'bad.json'), '{"epoch": "one"}');
    await expect(loadTrainerState(path.join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: key epoch/);
  });
});
