// Expected lines and times are what LLaMA-Factory's LogCallback (json.dumps, str(timedelta)) gives
// in CPython 3.11 for the same values.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { trainerLogLineSchema } from '../../schemas/outputs/trainer-log';
import { evalLogEntry, finalTrainLogEntry, trainLogEntry } from './log-entries';
import { formatTimedelta, readTrainerLog, TrainerLog, trainerLogLine, trainerLogLineText, truncateAfterStep } from './trainer-log';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'ptflow-log-'));

test('str(timedelta(seconds=int(s)))', () => {
  const cases: [number, string][] = [
    [0, '0:00:00'],
    [59.9, '0:00:59'],
    [61, '0:01:01'],
    [3599, '0:59:59'],
    [3600, '1:00:00'],
    [3661.7, '1:01:01'],
    [86399, '23:59:59'],
    [86400, '1 day, 0:00:00'],
    [90061, '1 day, 1:01:01'],
    [172805, '2 days, 0:00:05'],
    [-3, '-1 day, 23:59:57'],
    [-86401, '-2 days, 23:59:59'],
  ];
  for (const [s, want] of cases) expect(formatTimedelta(s)).toBe(want);
});

test('line fields, order, None keys dropped, Python formatting', () => {
  const train = trainLogEntry({ meanLoss: 2.5, gradNorm: 1.25, learningRate: 5e-5, epoch: 1 / 3, step: 10 });
  const line = trainerLogLine(train, { currentSteps: 10, totalSteps: 30, elapsedSeconds: 12, numInputTokensSeen: 40960 });
  expect(trainerLogLineText(line)).toBe(
    '{"current_steps": 10, "total_steps": 30, "loss": 2.5, "lr": 5e-05, "epoch": 0.3333333333333333, "percentage": 33.33, "elapsed_time": "0:00:12", "remaining_time": "0:00:24", "throughput": 3413.33, "total_tokens": 40960}',
  );
  const fin = finalTrainLogEntry({ runtimeSeconds: 12, numSamples: 60, numSteps: 30, totalFlos: 1, trainLoss: 2, epoch: 1, step: 30 });
  expect(trainerLogLineText(trainerLogLine(fin, { currentSteps: 30, totalSteps: 30, elapsedSeconds: 12.9 }))).toBe(
    '{"current_steps": 30, "total_steps": 30, "epoch": 1.0, "percentage": 100.0, "elapsed_time": "0:00:12", "remaining_time": "0:00:00"}',
  );
  const ev = evalLogEntry({ loss: 3, runtimeSeconds: 1, numSamples: 4, numSteps: 1, epoch: 0.5, step: 0 });
  expect(trainerLogLineText(trainerLogLine(ev, { currentSteps: 0, totalSteps: 0, elapsedSeconds: 0 }))).toBe(
    '{"current_steps": 0, "total_steps": 0, "eval_loss": 3.0, "epoch": 0.5, "percentage": 100, "elapsed_time": "0:00:00", "remaining_time": "0:00:00"}',
  );
  expect(() => trainerLogLineSchema.parse(line)).not.toThrow();
});

test('TrainerLog appends one line per log; a resumed run estimates from its own steps', async () => {
  const dir = tmp();
  let t = 100;
  const log = new TrainerLog(dir, () => t);
  await log.begin(30);
  const history = [trainLogEntry({ meanLoss: 2.5, learningRate: 1e-4, epoch: 0.5, step: 10 })];
  t = 112.5;
  await log.log({ global_step: 10, log_history: history, num_input_tokens_seen: 0 });
  history.push(evalLogEntry({ loss: 2.25, runtimeSeconds: 1, numSamples: 2, numSteps: 1, epoch: 0.5, step: 10 }));
  const p = log.log({ global_step: 10, log_history: history, num_input_tokens_seen: 0 });
  history.push(trainLogEntry({ meanLoss: 2, learningRate: 5e-5, epoch: 1, step: 20 }));
  t = 125;
  const q = log.log({ global_step: 20, log_history: history, num_input_tokens_seen: 0 });
  await Promise.all([p, q]);
  const lines = readFileSync(log.file, 'utf8').split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[0]).toBe(
    '{"current_steps": 10, "total_steps": 30, "loss": 2.5, "lr": 0.0001, "epoch": 0.5, "percentage": 33.33, "elapsed_time": "0:00:12", "remaining_time": "0:00:25"}',
  );
  expect(JSON.parse(lines[1])).toMatchObject({ current_steps: 10, eval_loss: 2.25 });
  expect(JSON.parse(lines[2])).toMatchObject({ current_steps: 20, remaining_time: '0:00:12' }); // 25 s / 20 steps × 10

  // Resume from the step-10 checkpoint: the step-20 line goes, and 10 s for 5 new steps → 2 s/step.
  const resumed = new TrainerLog(dir, () => t);
  t = 200;
  await resumed.begin(30, 10);
  expect(readFileSync(log.file, 'utf8').split('\n')).toHaveLength(3);
  t = 210;
  await resumed.log({ global_step: 15, log_history: [trainLogEntry({ meanLoss: 2, learningRate: 5e-5, epoch: 0.75, step: 15 })], num_input_tokens_seen: 0 });
  const all = await readTrainerLog(log.file);
  expect(all.map((l) => l.current_steps)).toEqual([10, 10, 15]);
  expect(all[2]).toMatchObject({ current_steps: 15, elapsed_time: '0:00:10', remaining_time: '0:00:30' });
  writeFileSync(path.join(dir, 'bad.jsonl'), '{"current_steps": 1, "total_steps": 2, "percentage": 50.0, "elapsed_time": "soon", "remaining_time": "0:00:01"}\n');
  await expect(readTrainerLog(path.join(dir, 'bad.jsonl'))).rejects.toThrow(/bad\.jsonl:1: key elapsed_time/);
});

test('truncateAfterStep keeps the prefix up to the step, drops a partial tail, names bad lines', async () => {
  const dir = tmp();
  const file = path.join(dir, 'trainer_log.jsonl');
  expect(await truncateAfterStep(file, 5)).toBe(0);
  expect(existsSync(file)).toBe(false);
  const l = (s: number) => `{"current_steps": ${s}, "total_steps": 40, "loss": 1.0}`;
  // An earlier resume without truncation left 20, 30 twice, then a crash cut the last line short.
  writeFileSync(file, [l(10), l(20), l(30), l(20), l(30), '{"current_steps": 4'].join('\n'));
  expect(await truncateAfterStep(file, 20)).toBe(2);
  expect(readFileSync(file, 'utf8')).toBe(`${l(10)}\n${l(20)}\n`);
  expect(await truncateAfterStep(file, 100)).toBe(2);
  expect(await truncateAfterStep(file, 0)).toBe(0);
  expect(readFileSync(file, 'utf8')).toBe('');
  writeFileSync(file, `${l(10)}\nnot json\n${l(30)}\n`);
  await expect(truncateAfterStep(file, 20)).rejects.toThrow(/trainer_log\.jsonl:2:1: invalid JSON/);
  writeFileSync(file, `${l(10)}\n{"total_steps": 3}\n`);
  await expect(truncateAfterStep(file, 20)).rejects.toThrow(/trainer_log\.jsonl:2: line has no integer "current_steps"/);
});
