#!/usr/bin/env python3
"""Hugging Face parity check for a model directory saved by ptflow.

Reads the batch and the loss that bench/hf-parity-dump.ts computed with ptflow's engine, recomputes the
causal-LM loss of the same batch in PyTorch and compares:

  python3 tools/hf-parity/check.py <model_dir> <batch.json> [--impl auto|transformers|plain|both]
                                   [--tol 1e-4] [--device cpu|cuda] [--attn eager|sdpa]

--impl auto (default) uses transformers' LlamaForCausalLM when `transformers` is importable, otherwise
the plain-PyTorch Llama below (written from the Hugging Face semantics, reading model.safetensors with
a small numpy parser). `both` runs the two and checks each. The plain path also reports a float64
evaluation, which says which side of a float32 difference is closer to exact.

Exit status: 0 when every |loss difference| < --tol (1e-4) and every sampled logit / log-sum-exp
differs by less than --logit-tol (1e-4), 1 otherwise, 2 for unusable input. The logit check matters on
barely trained models: there a wrong RoPE pairing moves the loss by only ~1e-5 but the logits by ~1e-3.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


class InputError(Exception):
    """Unusable input: the message names the file and key."""


# ---------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length N, N bytes of JSON header, then raw little-endian data.

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 below
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}


def read_safetensors(path):
    """{name: float32 numpy array} of one safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise InputError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise InputError(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = entry["dtype"]
        if dtype not in _DTYPES:
            raise InputError(f"{path}: tensor \"{name}\" has unsupported dtype {dtype}")
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = math.prod(shape)
        if end - begin != count * _DTYPES[dtype].itemsize or end > len(data):
            raise InputError(f"{path}: tensor \"{name}\" byte range [{begin}, {end}) does not fit shape {shape} {dtype}")
        arr = np.frombuffer(data[begin:end], dtype=_DTYPES[dtype])
        if dtype == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(np.float32).reshape(shape)
    return out


def read_model_weights(model_dir):
    """Weights of model.safetensors, or of the shards listed by model.safetensors.index.json."""
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if not os.path.exists(index):
        raise InputError(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json")
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    out = {}
    for shard in sorted(set(weight_map.values())):
        out.update(read_safetensors(os.path.join(model_dir, shard)))
    return out


# ---------------------------------------------------------------------------------------------------
# A plain-PyTorch Llama forward with Hugging Face's semantics.


def rms_norm(x, weight, eps):
    """Normalise in float32, cast back, then scale by the weight."""
    dtype = x.dtype
    x32 = x.to(torch.float32) if dtype != torch.float64 else x
    x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * x32.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(positions, head_dim, theta, dtype):
    """cos/sin [B, T, head_dim] for integer positions [B, T]; inv_freq = 1 / theta^(2i/d)."""
    work = torch.float64 if dtype == torch.float64 else torch.float32  # HF: float32 for any model dtype
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(work) / head_dim))
    freqs = positions.to(inv_freq.dtype)[..., None] * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def repeat_kv(x, n_rep):
    """[B, KV, T, d] → [B, KV·n_rep, T, d]: query head h reads key/value head h // n_rep."""
    if n_rep == 1:
        return x
    b, kv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)


class PlainLlama:
    """LlamaForCausalLM's forward over a dict of weights keyed by HF names."""

    def __init__(self, config, weights, dtype=torch.float32, device="cpu"):
        self.c = config
        self.dtype = dtype
        self.device = device
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        self.head_dim = config.get("head_dim") or config["hidden_size"] // self.heads
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.theta = float(config.get("rope_theta", 10000.0))
        self.layers = config["num_hidden_layers"]
        tied = config.get("tie_word_embeddings", False)
        if config.get("rope_scaling"):
            raise InputError("config.json: rope_scaling is not supported by the plain-PyTorch path")
        if config.get("hidden_act", "silu") != "silu":
            raise InputError(f"config.json: hidden_act {config.get('hidden_act')!r} is not supported by the plain-PyTorch path")
        if config.get("attention_bias") or config.get("mlp_bias"):
            raise InputError("config.json: attention_bias / mlp_bias are not supported by the plain-PyTorch path")
        self.w = {k: torch.from_numpy(v.copy()).to(device=device, dtype=dtype) for k, v in weights.items()}
        needed = ["model.embed_tokens.weight", "model.norm.weight"]
        for i in range(self.layers):
            p = f"model.layers.{i}."
            needed += [p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
            needed += [p + f"self_attn.{m}.weight" for m in ("q_proj", "k_proj", "v_proj", "o_proj")]
            needed += [p + f"mlp.{m}.weight" for m in ("gate_proj", "up_proj", "down_proj")]
        if not tied:
            needed.append("lm_head.weight")
        missing = [n for n in needed if n not in self.w]
        if missing:
            raise InputError(f"model.safetensors: missing tensors {missing[:5]}")
        self.lm_head = self.w["model.embed_tokens.weight"] if tied else self.w["lm_head.weight"]

    def logits(self, input_ids, attention_mask):
        B, T = input_ids.shape
        H, KV, hd = self.heads, self.kv_heads, self.head_dim
        h = self.w["model.embed_tokens.weight"][input_ids]
        positions = torch.arange(T, device=self.device)[None, :].expand(B, T)
        cos, sin = rope_cos_sin(positions, hd, self.theta, self.dtype)
        cos, sin = cos[:, None], sin[:, None]  # broadcast over heads
        # key j is visible to query i when j <= i and key j is not padding
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=self.device))
        allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
        neg = torch.finfo(self.dtype).min
        bias = torch.zeros(B, 1, T, T, dtype=self.dtype, device=self.device).masked_fill(~allowed, neg)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            x = rms_norm(h, self.w[p + "input_layernorm.weight"], self.eps)
            q = (x @ self.w[p + "self_attn.q_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
            k = (x @ self.w[p + "self_attn.k_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
            v = (x @ self.w[p + "self_attn.v_proj.weight"].T).view(B, T, KV, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k, v = repeat_kv(k, H // KV), repeat_kv(v, H // KV)
            scores = (q @ k.transpose(2, 3)) * hd**-0.5 + bias
            probs = torch.softmax(scores.to(torch.float32) if self.dtype != torch.float64 else scores, dim=-1).to(self.dtype)
            a = (probs @ v).transpose(1, 2).reshape(B, T, H * hd)
            h = h + a @ self.w[p + "self_attn.o_proj.weight"].T
            x = rms_norm(h, self.w[p + "post_attention_layernorm.weight"], self.eps)
            gate = x @ self.w[p + "mlp.gate_proj.weight"].T
            up = x @ self.w[p + "mlp.up_proj.weight"].T
            h = h + (F.silu(gate) * up) @ self.w[p + "mlp.down_proj.weight"].T
        h = rms_norm(h, self.w["model.norm.weight"], self.eps)
        return h @ self.lm_head.T


def causal_lm_loss(logits, labels):
    """Mean cross entropy of position t predicting labels[t + 1], ignoring −100."""
    shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shift_logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32),
                           shift_labels, ignore_index=IGNORE_INDEX, reduction="mean")


# ---------------------------------------------------------------------------------------------------
# The two evaluations, each returning (loss, logits [B, T, V] as float64 numpy).


def run_plain(model_dir, batch, device, dtype):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = PlainLlama(config, read_model_weights(model_dir), dtype=dtype, device=device)
    ids, mask, labels = (torch.tensor(batch[k], dtype=torch.int64, device=device)
                         for k in ("input_ids", "attention_mask", "labels"))
    with torch.no_grad():
        logits = model.logits(ids, mask)
        loss = causal_lm_loss(logits, labels)
    return float(loss), logits.to(torch.float64).cpu().numpy()


def run_transformers(model_dir, batch, device, attn):
    from transformers import LlamaForCausalLM  # noqa: PLC0415 (optional dependency)

    kwargs = {"torch_dtype": torch.float32}
    if attn:
        kwargs["attn_implementation"] = attn
    model = LlamaForCausalLM.from_pretrained(model_dir, **kwargs).to(device).eval()
    ids, mask, labels = (torch.tensor(batch[k], dtype=torch.int64, device=device)
                         for k in ("input_ids", "attention_mask", "labels"))
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
    return float(out.loss), out.logits.to(torch.float64).cpu().numpy()


def max_logit_diff(sample, logits):
    """Largest |difference| over the sampled logits and the per-position log-sum-exp."""
    worst = 0.0
    for s in sample:
        row = logits[s["row"], s["pos"]]
        for v, value in zip(s["vocab_ids"], s["values"]):
            worst = max(worst, abs(row[v] - value))
        if "logsumexp" in s:
            m = row.max()
            worst = max(worst, abs(m + math.log(np.exp(row - m).sum()) - s["logsumexp"]))
    return worst


def load_batch(path):
    with open(path) as f:
        batch = json.load(f)
    for key in ("input_ids", "attention_mask", "labels", "loss", "logits_sample"):
        if key not in batch:
            raise InputError(f"{path}: key \"{key}\" is missing")
    rows = {len(r) for k in ("input_ids", "attention_mask", "labels") for r in batch[k]}
    if len(rows) != 1:
        raise InputError(f"{path}: input_ids / attention_mask / labels rows differ in length ({sorted(rows)})")
    return batch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("batch_json")
    ap.add_argument("--impl", choices=("auto", "transformers", "plain", "both"), default="auto")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest accepted |loss difference|")
    ap.add_argument("--logit-tol", type=float, default=1e-4,
                    help="largest accepted |difference| of the sampled logits and log-sum-exps (0 = not checked)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--attn", default=None, help="transformers attn_implementation (default: its own choice)")
    args = ap.parse_args(argv)

    try:
        batch = load_batch(args.batch_json)
        impls = [args.impl]
        if args.impl == "auto":
            try:
                import transformers  # noqa: F401, PLC0415
                impls = ["transformers"]
            except ImportError:
                impls = ["plain"]
        elif args.impl == "both":
            impls = ["transformers", "plain"]

        ptflow_loss = float(batch["loss"])
        shape = (len(batch["input_ids"]), len(batch["input_ids"][0]))
        lengths = [sum(r) for r in batch["attention_mask"]]
        print(f"model {args.model_dir}; batch {shape[0]}x{shape[1]}, real lengths {lengths}; "
              f"torch {torch.__version__} on {args.device}")
        print(f"ptflow ({batch.get('backend', '?')}) loss {ptflow_loss:.8f}")
        ok = True
        for impl in impls:
            if impl == "transformers":
                try:
                    import transformers  # noqa: PLC0415
                except ImportError as e:
                    raise InputError(f"--impl {args.impl} needs transformers ({e}); --impl plain works without it") from e
                loss, logits = run_transformers(args.model_dir, batch, args.device, args.attn)
                name = f"transformers {transformers.__version__} LlamaForCausalLM"
            else:
                loss, logits = run_plain(args.model_dir, batch, args.device, torch.float32)
                name = "plain-PyTorch Llama (float32)"
            d = abs(loss - ptflow_loss)
            dl = max_logit_diff(batch["logits_sample"], logits)
            good = d < args.tol and (args.logit_tol <= 0 or dl < args.logit_tol)
            print(f"{name}: loss {loss:.8f}  |dloss| {d:.3e}  max|dlogit| (sample) {dl:.3e}  "
                  f"[{'OK' if good else 'FAIL'}, tol {args.tol:g} / {args.logit_tol:g}]")
            ok = ok and good
            if impl == "plain":
                loss64, logits64 = run_plain(args.model_dir, batch, args.device, torch.float64)
                print(f"plain-PyTorch Llama (float64): loss {loss64:.10f}  |ptflow - f64| {abs(ptflow_loss - loss64):.3e}  "
                      f"|f32 - f64| {abs(loss - loss64):.3e}  max|dlogit| ptflow vs f64 {max_logit_diff(batch['logits_sample'], logits64):.3e}")
        return 0 if ok else 1
    except (InputError, OSError, json.JSONDecodeError, KeyError) as e:
        print(f"hf-parity: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
