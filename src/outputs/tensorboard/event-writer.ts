/**
 * Writes TensorBoard event files (`events.out.tfevents.<time>.<host>.<pid>.<n>`), the format
 * `torch.utils.tensorboard.SummaryWriter` writes and TensorBoard reads:
 *
 *   file    = record*
 *   record  = uint64le length · uint32le masked_crc32c(length bytes) · data · uint32le masked_crc32c(data)
 *   data    = an `Event` protobuf: wall_time (1, double seconds), step (2, int64),
 *             file_version (3, string: "brain.Event:2" in the first record only) or
 *             summary (5, `Summary` { value (1) = `Value` { tag (1, string), simple_value (2, float) } })
 *
 * A new writer always starts a new file (a resumed run adds one, as TensorFlow does; TensorBoard
 * merges the files of one directory). Each call appends its records with one write, so a crash
 * leaves at most a cut-off last record, which TensorBoard's reader stops at.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PtflowError } from '../../errors';
import { maskedCrc32c } from './crc32c';
import { ProtoWriter } from './protobuf';

export const FILE_VERSION = 'brain.Event:2';

/** One TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
  const footer = new Uint8Array(4);
  new DataView(footer.buffer).setUint32(0, maskedCrc32c(data), true);
  const out = new Uint8Array(header.length + data.length + 4);
  out.set(header, 0);
  out.set(data, 12);
  out.set(footer, 12 + data.length);
  return out;
}

function eventHead(wallTime: number, step: number): ProtoWriter {
  const e = new ProtoWriter().double(1, wallTime);
  if (step !== 0) e.uint64(2, step); // proto3: a zero step is left out
  return e;
}

/** An Event carrying one scalar, as `SummaryWriter.add_scalar` writes it. */
export function scalarEvent(tag: string, value: number, step: number, wallTime: number): Uint8Array {
  const v = new ProtoWriter().string(1, tag).float(2, value);
  return eventHead(wallTime, step).message(5, new ProtoWriter().message(1, v)).finish();
}

export function fileVersionEvent(wallTime: number): Uint8Array {
  return eventHead(wallTime, 0).string(3, FILE_VERSION).finish();
}

let filesOpened = 0;

export class EventFileWriter {
  private constructor(
    readonly file: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  /** Create `dir` if needed and start a new event file in it. */
  static async open(dir: string, now: Date = new Date()): Promise<EventFileWriter> {
    const secs = Math.floor(now.getTime() / 1000);
    const file = path.join(dir, `events.out.tfevents.${String(secs).padStart(10, '0')}.${os.hostname()}.${process.pid}.${filesOpened++}`);
    let fh: fsp.FileHandle;
    try {
      await fsp.mkdir(dir, { recursive: true });
      fh = await fsp.open(file, 'wx');
    } catch (e) {
      throw new PtflowError(`cannot create the TensorBoard event file ${file} (logging_dir): ${(e as Error).message}`);
    }
    const w = new EventFileWriter(file, fh);
    await w.append([fileVersionEvent(now.getTime() / 1000)]);
    return w;
  }

  /** Append one scalar Event per (tag, value), all at `step`. */
  async addScalars(step: number, values: [tag: string, value: number][], wallTime = Date.now() / 1000): Promise<void> {
    if (values.length > 0) await this.append(values.map(([tag, v]) => scalarEvent(tag, v, step, wallTime)));
  }

  private async append(events: Uint8Array[]): Promise<void> {
    const records = events.map(tfRecord);
    const buf = Buffer.concat(records);
    try {
      await this.fh.write(buf, 0, buf.length);
    } catch (e) {
      throw new PtflowError(`cannot write the TensorBoard event file ${this.file}: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
