import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decideResume, lastCheckpoint } from './output-dir';

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ptflow-out-'));
}
function ckpt(dir: string, n: number, complete = true): void {
  const d = path.join(dir, `checkpoint-${n}`);
  mkdirSync(d, { recursive: true });
  if (complete) writeFileSync(path.join(d, 'trainer_state.json'), '{}');
}

describe('output_dir and resume rules', () => {
  const base = { doTrain: true, overwriteOutputDir: false, resumeFromCheckpoint: null };
  it('resumes from the complete checkpoint with the largest step (numeric, not lexical)', () => {
    const d = tmp();
    ckpt(d, 9);
    ckpt(d, 10);
    ckpt(d, 11, false); // half-written: no trainer_state.json
    expect(lastCheckpoint(d)).toBe(path.join(d, 'checkpoint-10'));
    expect(decideResume({ ...base, outputDir: d }).resumeFrom).toBe(path.join(d, 'checkpoint-10'));
  });
  it('refuses final weights without a checkpoint unless overwrite_output_dir', () => {
    const d = tmp();
    writeFileSync(path.join(d, 'model.safetensors'), 'x');
    expect(() => decideResume({ ...base, outputDir: d })).toThrow(/Output directory already exists and is not empty/);
    expect(decideResume({ ...base, outputDir: d, overwriteOutputDir: true }).resumeFrom).toBeNull();
  });
  it('starts fresh in a new or weightless directory, and never resumes without do_train', () => {
    const d = tmp();
    writeFileSync(path.join(d, 'notes.txt'), 'x');
    expect(decideResume({ ...base, outputDir: d }).resumeFrom).toBeNull();
    expect(decideResume({ ...base, outputDir: path.join(d, 'new') }).resumeFrom).toBeNull();
    ckpt(d, 5);
    expect(decideResume({ ...base, doTrain: false, outputDir: d }).resumeFrom).toBeNull();
  });
  it('refuses an output_dir that is a regular file, whatever else is asked', () => {
    const f = path.join(tmp(), 'out');
    writeFileSync(f, 'x');
    for (const extra of [{}, { overwriteOutputDir: true }, { resumeFromCheckpoint: true }, { doTrain: false }]) {
      expect(() => decideResume({ ...base, ...extra, outputDir: f })).toThrow(`output_dir ${f} exists and is not a directory`);
    }
  });
  it('resume_from_checkpoint: a path, true, or an error naming what is missing', () => {
    const d = tmp();
    expect(() => decideResume({ ...base, outputDir: d, resumeFromCheckpoint: true })).toThrow(/no checkpoint-N/);
    expect(() => decideResume({ ...base, outputDir: d, resumeFromCheckpoint: path.join(d, 'nope') })).toThrow(/does not exist/);
    ckpt(d, 3);
    expect(decideResume({ ...base, outputDir: d, resumeFromCheckpoint: true }).resumeFrom).toBe(path.join(d, 'checkpoint-3'));
  });
});
