/**
 * The few protobuf wire-format pieces an event file needs: varint, 64-bit and 32-bit fixed fields,
 * and length-delimited fields (strings, nested messages). Fields are appended in the order written.
 */
const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }

  private key(field: number, wire: WireType): void {
    this.varint(field * 8 + wire);
  }

  /** Unsigned varint (non-negative safe integers; int64 fields such as a step fit). */
  private varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`protobuf varint out of range: ${v}`);
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  uint64(field: number, v: number): this {
    this.key(field, WireType.Varint);
    this.varint(v);
    return this;
  }

  double(field: number, v: number): this {
    this.key(field, WireType.Fixed64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.push(b);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, WireType.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, WireType.LengthDelimited);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
