/** xorshift32 from a fixed seed: the synthetic caches' token ids and document lengths (reproducible, not random). */
export function xorshift32(seed = 0x9e3779b9): () => number {
  let s = seed >>> 0;
  return (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}
