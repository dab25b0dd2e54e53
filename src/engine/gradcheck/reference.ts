/**
 * A second, plain-JavaScript float64 implementation of the Llama forward pass and the causal-LM
 * loss, written loop by loop from the Hugging Face definitions, for checking the tfjs model
 * (logits) and its gradients (by central finite differences on this reference).
 */
import type { LlamaConfig } from '../model/config';
import { IGNORE_INDEX } from '../../../schemas/train-batch';
import { MASKED } from '../ops/attention-mask';

export type RefParams = Map<string, Float64Array>;

export interface RefInputs {
  batchSize: number;
  seqLen: number;
  inputIds: ArrayLike<number>;
  attentionMask?: ArrayLike<number>;
  positionIds?: ArrayLike<number>;
  segmentIds?: ArrayLike<number>;
}

export interface RefLora {
  scaling: number;
  /** PEFT-named A [r, in] and B [out, r] tensors. */
  params: RefParams;
  rank: number;
}

const LINEAR_SHAPES = (c: LlamaConfig): Record<string, [number, number]> => ({
  q_proj: [c.numAttentionHeads * c.headDim, c.hiddenSize],
  k_proj: [c.numKeyValueHeads * c.headDim, c.hiddenSize],
  v_proj: [c.numKeyValueHeads * c.headDim, c.hiddenSize],
  o_proj: [c.hiddenSize, c.numAttentionHeads * c.headDim],
  gate_proj: [c.intermediateSize, c.hiddenSize],
  up_proj: [c.intermediateSize, c.hiddenSize],
  down_proj: [c.hiddenSize, c.intermediateSize],
});

/** y[n][o] = Σ_i x[n][i]·W[o][i] for row-major x [rows, inp] and W [out, inp]. */
function matVecT(x: Float64Array, rows: number, inp: number, w: Float64Array, out: number): Float64Array {
  const y = new Float64Array(rows * out);
  for (let n = 0; n < rows; n++)
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let i = 0; i < inp; i++) s += x[n * inp + i] * w[o * inp + i];
      y[n * out + o] = s;
    }
  return y;
}

function rms(x: Float64Array, rows: number, d: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(rows * d);
  for (let n = 0; n < rows; n++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[n * d + i] ** 2;
    const r = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) y[n * d + i] = x[n * d + i] * r * w[i];
  }
  return y;
}

function positions(x: RefInputs): number[] {
  const out: number[] = [];
  for (let b = 0; b < x.batchSize; b++) {
    let p = 0;
    for (let t = 0; t < x.seqLen; t++) {
      const i = b * x.seqLen + t;
      if (x.positionIds) out.push(x.positionIds[i]);
      else {
        if (x.segmentIds && t > 0 && x.segmentIds[i] !== x.segmentIds[i - 1]) p = 0;
        out.push(p++);
      }
    }
  }
  return out;
}

/** Applies HF rotate-half RoPE in place to `v` [rows, heads, d]. */
function rope(v: Float64Array, rows: number, heads: number, d: number, pos: number[], theta: number): void {
  const half = d / 2;
  for (let n = 0; n < rows; n++)
    for (let h = 0; h < heads; h++) {
      const o = (n * heads + h) * d;
      const x = v.slice(o, o + d);
      for (let i = 0; i < d; i++) {
        const f = i % half;
        const ang = pos[n] / Math.pow(theta, (2 * f) / d);
        const rot = i < half ? -x[i + half] : x[i - half];
        v[o + i] = x[i] * Math.cos(ang) + rot * Math.sin(ang);
      }
    }
}

/** Logits [B·T, V] (row-major) of the reference model. */
export function referenceLogits(c: LlamaConfig, p: RefParams, x: RefInputs, lora?: RefLora): Float64Array {
  const B = x.batchSize;
  const T = x.seqLen;
  const N = B * T;
  const D = c.hiddenSize;
  const H = c.numAttentionHeads;
  const KV = c.numKeyValueHeads;
  const hd = c.headDim;
  const shapes = LINEAR_SHAPES(c);
  const get = (n: string): Float64Array => {
    const v = p.get(n);
    if (!v) throw new Error(`reference: missing ${n}`);
    return v;
  };
  const lin = (inp: Float64Array, layer: number, m: string): Float64Array => {
    const block = ['gate_proj', 'up_proj', 'down_proj'].includes(m) ? 'mlp' : 'self_attn';
    const path = `model.layers.${layer}.${block}.${m}`;
    const [out, inD] = shapes[m];
    const y = matVecT(inp, N, inD, get(`${path}.weight`), out);
    const a = lora?.params.get(`base_model.model.${path}.lora_A.weight`);
    const b = lora?.params.get(`base_model.model.${path}.lora_B.weight`);
    if (lora && a && b) {
      const ax = matVecT(inp, N, inD, a, lora.rank);
      const bax = matVecT(ax, N, lora.rank, b, out);
      for (let i = 0; i < y.length; i++) y[i] += lora.scaling * bax[i];
    }
    return y;
  };
  const pos = positions(x);
  const E = get('model.embed_tokens.weight');
  let h: Float64Array = new Float64Array(N * D);
  for (let n = 0; n < N; n++) for (let i = 0; i < D; i++) h[n * D + i] = E[x.inputIds[n] * D + i];
  const visible = (b: number, i: number, j: number): boolean => {
    const bi = b * T + i;
    const bj = b * T + j;
    if (j > i) return false;
    if (x.attentionMask && x.attentionMask[bj] === 0) return false;
    if (x.segmentIds && x.segmentIds[bi] !== x.segmentIds[bj]) return false;
    return true;
  };
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const xn = rms(h, N, D, get(`model.layers.${l}.input_layernorm.weight`), c.rmsNormEps);
    const q = lin(xn, l, 'q_proj');
    const k = lin(xn, l, 'k_proj');
    const v = lin(xn, l, 'v_proj');
    rope(q, N, H, hd, pos, c.ropeTheta);
    rope(k, N, KV, hd, pos, c.ropeTheta);
    const att = new Float64Array(N * H * hd);
    for (let b = 0; b < B; b++)
      for (let hh = 0; hh < H; hh++) {
        const g = Math.floor(hh / (H / KV));
        for (let i = 0; i < T; i++) {
          const s = new Float64Array(T);
          for (let j = 0; j < T; j++) {
            let dot = 0;
            for (let e = 0; e < hd; e++) dot += q[((b * T + i) * H + hh) * hd + e] * k[((b * T + j) * KV + g) * hd + e];
            s[j] = dot / Math.sqrt(hd) + (visible(b, i, j) ? 0 : MASKED);
          }
          const mx = Math.max(...s);
          let z = 0;
          for (let j = 0; j < T; j++) z += Math.exp(s[j] - mx);
          for (let j = 0; j < T; j++) {
            const pj = Math.exp(s[j] - mx) / z;
            for (let e = 0; e < hd; e++) att[((b * T + i) * H + hh) * hd + e] += pj * v[((b * T + j) * KV + g) * hd + e];
          }
        }
      }
    const o = lin(att, l, 'o_proj');
    for (let i = 0; i < h.length; i++) h[i] += o[i];
    const xn2 = rms(h, N, D, get(`model.layers.${l}.post_attention_layernorm.weight`), c.rmsNormEps);
    const gate = lin(xn2, l, 'gate_proj');
    const up = lin(xn2, l, 'up_proj');
    const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]);
    const down = lin(act, l, 'down_proj');
    for (let i = 0; i < h.length; i++) h[i] += down[i];
  }
  h = rms(h, N, D, get('model.norm.weight'), c.rmsNormEps);
  const head = c.tieWordEmbeddings ? E : get('lm_head.weight');
  return matVecT(h, N, D, head, c.vocabSize);
}

/** Σ of token cross-entropies after the causal shift (labels −100 ignored) and their count. */
export function referenceLossSum(
  c: LlamaConfig,
  p: RefParams,
  x: RefInputs & { labels: ArrayLike<number> },
  lora?: RefLora,
): { sum: number; count: number } {
  const logits = referenceLogits(c, p, x, lora);
  const V = c.vocabSize;
  let sum = 0;
  let count = 0;
  for (let b = 0; b < x.batchSize; b++)
    for (let t = 0; t + 1 < x.seqLen; t++) {
      const y = x.labels[b * x.seqLen + t + 1];
      if (y === IGNORE_INDEX) continue;
      const row = logits.subarray((b * x.seqLen + t) * V, (b * x.seqLen + t + 1) * V);
      const mx = Math.max(...row);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(row[v] - mx);
      sum += Math.log(z) + mx - row[y];
      count++;
    }
  return { sum, count };
}
