import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c, maskedCrc32c } from './crc32c';
import { EventFileWriter, scalarEvent } from './event-writer';
import { tensorboardScalars } from './hf-tags';
import { defaultLoggingDir, tensorboardDir } from './log-dir';
import { readEventFile } from '../../../test/tfevents-reader';

describe('TensorBoard event files', () => {
  it('computes CRC-32C (the standard check value) and its TFRecord mask', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    // mask by hand: rotr15(0xe3069283) = 0x2507c60d; + 0xa282ead8 = 0xc78ab0e5 (mod 2^32)
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe(0xc78ab0e5);
  });

  it('encodes a scalar Event as add_scalar does (bytes derived by hand from event.proto)', () => {
    const bytes = Array.from(scalarEvent('a', 1, 3, 0));
    expect(bytes).toEqual([
      0x09, 0, 0, 0, 0, 0, 0, 0, 0, // wall_time = 0.0 (field 1, fixed64)
      0x10, 0x03, //                  step = 3 (field 2, varint)
      0x2a, 0x0a, //                  summary (field 5, 10 bytes)
      0x0a, 0x08, //                    value (field 1, 8 bytes)
      0x0a, 0x01, 0x61, //                tag = "a"
      0x15, 0x00, 0x00, 0x80, 0x3f, //    simple_value = 1.0f (field 2, fixed32)
    ]);
    // step 300: a two-byte varint (0xac 0x02)
    expect(Array.from(scalarEvent('a', 1, 300, 0).subarray(9, 12))).toEqual([0x10, 0xac, 0x02]);
  });

  it('writes a file TensorBoard reads: file_version first, then the scalars, each file new', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-tb-'));
    const w = await EventFileWriter.open(dir, new Date(1_700_000_000_123));
    await w.addScalars(5, [['train/loss', 2.5], ['train/learning_rate', 1e-4]], 1_700_000_001.5);
    await w.addScalars(0, [['eval/loss', 3.25]], 1_700_000_002);
    await w.close();
    expect(path.basename(w.file)).toMatch(new RegExp(`^events\\.out\\.tfevents\\.1700000000\\.${os.hostname()}\\.${process.pid}\\.\\d+$`));
    const ev = readEventFile(w.file);
    expect(ev[0]).toEqual({ wallTime: 1_700_000_000.123, step: 0, fileVersion: 'brain.Event:2', values: [] });
    expect(ev.slice(1)).toEqual([
      { wallTime: 1_700_000_001.5, step: 5, values: [{ tag: 'train/loss', simpleValue: 2.5 }] },
      { wallTime: 1_700_000_001.5, step: 5, values: [{ tag: 'train/learning_rate', simpleValue: Math.fround(1e-4) }] },
      { wallTime: 1_700_000_002, step: 0, values: [{ tag: 'eval/loss', simpleValue: 3.25 }] },
    ]);
    const again = await EventFileWriter.open(dir, new Date(1_700_000_000_123));
    await again.close();
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it("names the scalars as HF's rewrite_logs does, step left out", () => {
    expect(tensorboardScalars({ loss: 2, grad_norm: 0.5, learning_rate: 1e-3, epoch: 0.5, step: 4 })).toEqual([
      ['train/loss', 2], ['train/grad_norm', 0.5], ['train/learning_rate', 1e-3], ['train/epoch', 0.5],
    ]);
    expect(tensorboardScalars({ eval_loss: 3, eval_runtime: 0.1, epoch: 1, step: 4 })).toEqual([
      ['eval/loss', 3], ['eval/runtime', 0.1], ['train/epoch', 1],
    ]);
    expect(tensorboardScalars({ train_runtime: 9, total_flos: 10, train_loss: 2.2, step: 9 })).toEqual([
      ['train/train_runtime', 9], ['train/total_flos', 10], ['train/train_loss', 2.2],
    ]);
  });

  it("puts the files under logging_dir, or HF's default output_dir/runs/<%b%d_%H-%M-%S>_<host>", () => {
    const now = new Date(2026, 11, 7, 1, 2, 3);
    expect(defaultLoggingDir('/out', now, 'node7')).toBe(path.join('/out', 'runs', 'Dec07_01-02-03_node7'));
    expect(tensorboardDir({ report_to: [], logging_dir: '/logs', output_dir: '/out' })).toBeNull();
    expect(tensorboardDir({ report_to: ['tensorboard'], logging_dir: '/logs', output_dir: '/out' })).toBe('/logs');
    expect(tensorboardDir({ report_to: ['wandb', 'tensorboard'], logging_dir: null, output_dir: '/out' }, now)).toMatch(/^\/out\/runs\/Dec07_01-02-03_/);
  });
});
