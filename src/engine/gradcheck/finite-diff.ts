/**
 * Central finite differences of a scalar function of named float64 tensors, element by element:
 * `(f(θ + ε) − f(θ − ε)) / 2ε`.
 */
export function finiteDifferences(
  params: Map<string, Float64Array>,
  names: Iterable<string>,
  f: () => number,
  eps = 1e-5,
): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const name of names) {
    const p = params.get(name);
    if (!p) throw new Error(`finite differences: no tensor ${name}`);
    const g = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const keep = p[i];
      p[i] = keep + eps;
      const up = f();
      p[i] = keep - eps;
      const down = f();
      p[i] = keep;
      g[i] = (up - down) / (2 * eps);
    }
    out.set(name, g);
  }
  return out;
}

/** Largest `|a − b| / (atol + rtol·|b|)` over the elements (≤ 1 means within tolerance). */
export function worstRatio(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  return worst;
}
