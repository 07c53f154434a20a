#!/usr/bin/env python3
"""PyTorch reference for bench/model.ts: the same shapes on CPU, printed as one JSON object.

A DistilBERT encoder written out as HF's DistilBertModel computes it (word + position embeddings, LayerNorm
eps 1e-12, post-LN blocks, erf GELU), so no `transformers` install is needed. Measures:
  - a Margin-MSE training step (forward of queries, positives, negatives; loss; backward; Adam) for the tiny
    student (2 layers, dim 128, 2 heads, FFN 512), batch 32, query 30 / passage 200 tokens;
  - a DistilBERT-size forward (6 layers, dim 768, 12 heads, FFN 3072) over 8 passages of 200 tokens.
Usage: bench/torch_model.py --threads N [--repeats R] [--fwd-rows 8] [--fwd-len 200] (needs Debian's python3-torch +
libopenblas0-pthread).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.heads = heads
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(dim, dim) for _ in range(4))
        self.sa_layer_norm = nn.LayerNorm(dim, eps=1e-12)
        self.lin1, self.lin2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.output_layer_norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x, mask):  # x [b, L, dim], mask [b, L]
        b, length, dim = x.shape
        dh = dim // self.heads

        def split(t):  # [b, heads, L, dh]
            return t.view(b, length, self.heads, dh).transpose(1, 2)

        q = split(self.q_lin(x)) / math.sqrt(dh)
        k, v = split(self.k_lin(x)), split(self.v_lin(x))
        scores = q @ k.transpose(-1, -2)  # [b, heads, L, L]
        scores = scores.masked_fill((mask == 0).view(b, 1, 1, length), torch.finfo(scores.dtype).min)
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, length, dim)
        x = self.sa_layer_norm(self.out_lin(ctx) + x)
        return self.output_layer_norm(self.lin2(F.gelu(self.lin1(x))) + x)


class DistilBert(nn.Module):
    def __init__(self, vocab, dim, layers, heads, hidden, positions=512):
        super().__init__()
        self.word = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(positions, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)
        self.layers = nn.ModuleList(Block(dim, heads, hidden) for _ in range(layers))

    def forward(self, ids, mask):  # -> CLS [b, dim]
        x = self.norm(self.word(ids) + self.position(torch.arange(ids.shape[1]))[None])
        for layer in self.layers:
            x = layer(x, mask)
        return x[:, 0]


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fwd-rows", type=int, default=8)
    ap.add_argument("--fwd-len", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab, batch = 30522, 32

    student = DistilBert(vocab, 128, 2, 2, 512)
    opt = torch.optim.Adam(student.parameters(), lr=1e-5)
    ids = lambda b, length: torch.randint(1000, 30000, (b, length))
    q, p, n = ids(batch, 30), ids(batch, 200), ids(batch, 200)
    qm, pm, nm = torch.ones_like(q), torch.ones_like(p), torch.ones_like(n)
    t_pos, t_neg = torch.randn(batch), torch.randn(batch)

    # As models/bert-dot.ts: queries in one call, positives and negatives stacked into one [2b, L] call.
    pn, pnm = torch.cat([p, n]), torch.cat([pm, nm])

    def train_step():
        opt.zero_grad()
        qv = student(q, qm)
        pv, nv = student(pn, pnm).split(batch)
        s_pos, s_neg = (qv * pv).sum(-1), (qv * nv).sum(-1)
        loss = F.mse_loss(s_pos - s_neg, t_pos - t_neg)
        loss.backward()
        opt.step()

    big = DistilBert(vocab, 768, 6, 12, 3072).eval()
    fp = ids(args.fwd_rows, args.fwd_len)
    fm = torch.ones_like(fp)

    def forward():
        with torch.no_grad():
            big(fp, fm)

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "train_step_s": timed(train_step, args.repeats),
        "forward_s": timed(forward, args.repeats),
    }))


if __name__ == "__main__":
    main()
