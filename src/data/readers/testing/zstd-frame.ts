/**
 * Writes valid Zstandard frames without compressing (RFC 8878 raw and RLE blocks), so tests can make
 * `.zst` files of any size quickly and independently of the decompressor under test.
 *
 *   zstdStoredFrame(bytes, { rle? }) → Uint8Array
 *
 * Frame: magic 28 B5 2F FD, a frame header descriptor of 0 (no content size, no checksum, no
 * dictionary) and a window descriptor of 0x38 (2^17 = 128 KiB window), then blocks of at most
 * 128 KiB: a 3-byte little-endian header (bit 0 last block, bits 1–2 type: 0 raw / 1 RLE,
 * bits 3–23 size) followed by the bytes (raw) or the one repeated byte (RLE).
 */

const MAX_BLOCK = 128 << 10;

export function zstdStoredFrame(data: Uint8Array, opts: { rle?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38)];
  const header = (last: boolean, type: number, size: number): Uint8Array => {
    const v = (last ? 1 : 0) | (type << 1) | (size << 3);
    return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff);
  };
  if (data.length === 0) parts.push(header(true, 0, 0));
  for (let at = 0; at < data.length; at += MAX_BLOCK) {
    const block = data.subarray(at, Math.min(data.length, at + MAX_BLOCK));
    const last = at + MAX_BLOCK >= data.length;
    if (opts.rle && block.every((b) => b === block[0])) {
      parts.push(header(last, 1, block.length), Uint8Array.of(block[0]));
    } else {
      parts.push(header(last, 0, block.length), block);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
