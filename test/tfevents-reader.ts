/**
 * An independent TensorBoard event-file reader for tests, written from the format's definition
 * (TFRecord framing, masked CRC-32C, protobuf wire format, tensorflow/core/util/event.proto and
 * summary.proto), sharing no code with src/outputs/tensorboard/. The CRC is computed bit by bit.
 */
import { readFileSync } from 'node:fs';

function crc32cBitwise(bytes: Uint8Array): number {
  let crc = ~0 >>> 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}
function masked(bytes: Uint8Array): number {
  const c = crc32cBitwise(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** Split a file into its records, checking both CRCs of each. */
export function readRecords(file: string): Uint8Array[] {
  const buf = readFileSync(file);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < buf.length) {
    if (buf.length - o < 12) throw new Error(`${file}: truncated record header at ${o}`);
    const lenBytes = buf.subarray(o, o + 8);
    const len = Number(buf.readBigUInt64LE(o));
    if (buf.readUInt32LE(o + 8) !== masked(lenBytes)) throw new Error(`${file}: bad length CRC at ${o}`);
    const data = buf.subarray(o + 12, o + 12 + len);
    if (data.length !== len || o + 16 + len > buf.length) throw new Error(`${file}: truncated record at ${o}`);
    if (buf.readUInt32LE(o + 12 + len) !== masked(data)) throw new Error(`${file}: bad data CRC at ${o}`);
    out.push(data);
    o += 16 + len;
  }
  return out;
}

type Field = { no: number; wire: number; varint?: bigint; fixed64?: Buffer; fixed32?: Buffer; bytes?: Buffer };

function parseMessage(b: Uint8Array): Field[] {
  const buf = Buffer.from(b);
  const fields: Field[] = [];
  let o = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const x = buf[o++];
      if (x === undefined) throw new Error('varint runs past the end');
      v |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (o < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ no, wire, varint: varint() });
    else if (wire === 1) (fields.push({ no, wire, fixed64: buf.subarray(o, o + 8) }), (o += 8));
    else if (wire === 5) (fields.push({ no, wire, fixed32: buf.subarray(o, o + 4) }), (o += 4));
    else if (wire === 2) {
      const n = Number(varint());
      fields.push({ no, wire, bytes: buf.subarray(o, o + n) });
      o += n;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Summary values: tag and simple_value (a float32, widened). */
  values: { tag: string; simpleValue: number }[];
}

export function decodeEvent(b: Uint8Array): DecodedEvent {
  const e: DecodedEvent = { wallTime: NaN, step: 0, values: [] };
  for (const f of parseMessage(b)) {
    if (f.no === 1 && f.wire === 1) e.wallTime = f.fixed64!.readDoubleLE(0);
    else if (f.no === 2 && f.wire === 0) e.step = Number(f.varint!);
    else if (f.no === 3 && f.wire === 2) e.fileVersion = f.bytes!.toString('utf8');
    else if (f.no === 5 && f.wire === 2) {
      for (const v of parseMessage(f.bytes!)) {
        if (v.no !== 1 || v.wire !== 2) throw new Error(`unexpected Summary field ${v.no}`);
        let tag = '';
        let simpleValue = NaN;
        for (const g of parseMessage(v.bytes!)) {
          if (g.no === 1 && g.wire === 2) tag = g.bytes!.toString('utf8');
          else if (g.no === 2 && g.wire === 5) simpleValue = g.fixed32!.readFloatLE(0);
        }
        e.values.push({ tag, simpleValue });
      }
    } else throw new Error(`unexpected Event field ${f.no} (wire ${f.wire})`);
  }
  return e;
}

export function readEventFile(file: string): DecodedEvent[] {
  return readRecords(file).map(decodeEvent);
}
