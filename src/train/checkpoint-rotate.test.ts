import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rotateCheckpoints } from './checkpoint';

describe('rotateCheckpoints (save_total_limit)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-rotate-'));
    // Steps whose names sort differently from their numbers: "checkpoint-10" < "checkpoint-9" as strings.
    for (const n of [9, 10, 2, 100, 11]) {
      mkdirSync(path.join(dir, `checkpoint-${n}`));
      writeFileSync(path.join(dir, `checkpoint-${n}`, 'trainer_state.json'), '{}');
    }
    writeFileSync(path.join(dir, 'checkpoint-notes.txt'), 'not a checkpoint');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const left = (): string[] => readdirSync(dir).sort();

  it('keeps the newest `limit` checkpoints by step number, not by name', async () => {
    await rotateCheckpoints(dir, 2, path.join(dir, 'checkpoint-100'));
    expect(left()).toEqual(['checkpoint-100', 'checkpoint-11', 'checkpoint-notes.txt']);
  });

  it('never deletes the checkpoint it is told to keep, even when it is older', async () => {
    await rotateCheckpoints(dir, 2, path.join(dir, 'checkpoint-9'));
    expect(left()).toEqual(['checkpoint-100', 'checkpoint-11', 'checkpoint-9', 'checkpoint-notes.txt']);
  });

  it('does nothing without a limit', async () => {
    await rotateCheckpoints(dir, null, path.join(dir, 'checkpoint-100'));
    expect(left()).toHaveLength(6);
  });
});
