#!/usr/bin/python3
"""The same training step as bench/scale-step.ts in PyTorch eager (Debian's python3-torch), for
bench/scale.ts: a Llama built from the Hugging Face config fields given as JSON (RMSNorm, RoPE,
grouped-query attention with explicit matmul/softmax as transformers' eager attention does,
SwiGLU MLP, tied or untied head), causal-LM loss, clip_grad_norm_(1.0), torch.optim.AdamW.
Prints one JSON line: step times after the warm-up steps (--warmup, 2 by default: the first
has no AdamW state yet), tokens/s, peak RSS.

    /usr/bin/python3 bench/torch_step.py --config '<json>' --batch 4 --seq 512 --threads 1 --steps 2
    /usr/bin/python3 bench/torch_step.py --sgemm 1024      # numpy (OpenBLAS) float32 GEMM GFLOP/s
"""
import argparse
import json
import math
import resource
import time


def sgemm(n, reps):
    import numpy as np

    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    times.sort()
    return 2 * n ** 3 / times[len(times) // 2] / 1e9


def build(cfg, torch):
    nn = torch.nn
    F = torch.nn.functional
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"]
    hd = D // H
    I = cfg["intermediate_size"]
    V = cfg["vocab_size"]
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(D))

        def forward(self, x):
            return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rotate_half(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat((-x2, x1), dim=-1)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm = RMSNorm()
            self.post_attention_layernorm = RMSNorm()
            self.q_proj = nn.Linear(D, H * hd, bias=False)
            self.k_proj = nn.Linear(D, KV * hd, bias=False)
            self.v_proj = nn.Linear(D, KV * hd, bias=False)
            self.o_proj = nn.Linear(H * hd, D, bias=False)
            self.gate_proj = nn.Linear(D, I, bias=False)
            self.up_proj = nn.Linear(D, I, bias=False)
            self.down_proj = nn.Linear(I, D, bias=False)

        def forward(self, h, cos, sin, mask):
            B, T, _ = h.shape
            x = self.input_layernorm(h)
            q = self.q_proj(x).view(B, T, H, hd).transpose(1, 2)
            k = self.k_proj(x).view(B, T, KV, hd).transpose(1, 2)
            v = self.v_proj(x).view(B, T, KV, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
            s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + mask
            p = F.softmax(s, dim=-1, dtype=torch.float32)
            o = torch.matmul(p, v).transpose(1, 2).reshape(B, T, H * hd)
            h = h + self.o_proj(o)
            x = self.post_attention_layernorm(h)
            return h + self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(V, D)
            self.layers = nn.ModuleList([Layer() for _ in range(cfg["num_hidden_layers"])])
            self.norm = RMSNorm()
            self.lm_head = nn.Linear(D, V, bias=False)
            if cfg.get("tie_word_embeddings", False):
                self.lm_head.weight = self.embed_tokens.weight
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, std=0.02)

        def forward(self, ids):
            B, T = ids.shape
            inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
            f = torch.outer(torch.arange(T, dtype=torch.float32), inv)
            emb = torch.cat((f, f), dim=-1)
            cos, sin = emb.cos()[None, None], emb.sin()[None, None]
            mask = torch.full((T, T), float("-inf")).triu(1)[None, None]
            h = self.embed_tokens(ids)
            for layer in self.layers:
                h = layer(h, cos, sin, mask)
            return self.lm_head(self.norm(h))

    return Llama()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sgemm", type=int, default=0)
    a = ap.parse_args()
    if a.sgemm:
        print(json.dumps({"impl": "numpy-sgemm", "n": a.sgemm, "gflops": sgemm(a.sgemm, 20)}))
        return
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.loads(a.config)
    model = build(cfg, torch)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    V = cfg["vocab_size"]
    ids = torch.randint(0, V, (a.batch, a.seq))

    def step():
        logits = model(ids)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    t = time.perf_counter()
    losses = [step()]
    first = time.perf_counter() - t
    for _ in range(a.warmup - 1):
        losses.append(step())
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - t)
    times.sort()
    step_s = times[len(times) // 2]
    tokens = a.batch * a.seq
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "threads": a.threads, "firstStepMs": first * 1000,
        "stepMs": step_s * 1000, "stepsMs": [x * 1000 for x in times], "tokensPerS": tokens / step_s,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "losses": losses,
    }))


if __name__ == "__main__":
    main()
