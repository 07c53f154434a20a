#!/usr/bin/env python3
"""PyTorch memory reference for bench/memory.ts: one Margin-MSE training step of the BERT_Dot student.

The same step as the TypeScript side (bench/torch_model.py's DistilBERT without dropout; queries [b, 30] and
positives + negatives as one [2b, 200] call; Margin-MSE; backward; torch.optim.Adam), printed as one JSON object:
  - saved_bytes: what autograd keeps for the backward pass, counted with torch.autograd.graph.saved_tensors_hooks
    (each storage once; parameters excluded, they are counted as weights);
  - weight_bytes, grad_bytes, adam_bytes: parameters, their gradients, Adam's two moments;
  - accounted_bytes: their sum, the steady-state peak of a step (torch 1.13's zero_grad keeps the gradients, and
    every saved tensor is alive when the backward pass starts);
  - max_rss_bytes: the process's peak resident memory (ru_maxrss), after a warm-up step and the measured one.
Usage: bench/torch_memory.py --layers N --batch B [--threads T] (Debian's python3-torch + libopenblas0-pthread).
"""
import argparse
import json
import os
import resource
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import DistilBert  # noqa: E402  (the encoder the speed bench uses)

Q_LEN, P_LEN, VOCAB = 30, 200, 30522


def storage_key(t):
    """(address, bytes) of the storage behind a tensor, so views of one buffer count once."""
    s = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
    return s.data_ptr(), s.nbytes()


def nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = DistilBert(VOCAB, 768, args.layers, 12, 3072)
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    b = args.batch
    q_ids = torch.randint(1000, 30000, (b, Q_LEN))
    p_ids = torch.randint(1000, 30000, (2 * b, P_LEN))
    q_mask, p_mask = torch.ones_like(q_ids), torch.ones_like(p_ids)
    t_pos, t_neg = torch.randn(b), torch.randn(b)
    param_keys = {storage_key(p)[0] for p in model.parameters()}

    saved = {}

    def pack(t):
        ptr, size = storage_key(t)
        if ptr not in param_keys:
            saved[ptr] = size
        return t

    def step(count):
        saved.clear()
        opt.zero_grad()
        with torch.autograd.graph.saved_tensors_hooks(pack if count else (lambda t: t), lambda t: t):
            q = model(q_ids, q_mask)  # [b, dim]
            pos, neg = model(p_ids, p_mask).split(b)  # [b, dim] each
            s_pos, s_neg = (q * pos).sum(1), (q * neg).sum(1)
            loss = F.mse_loss(s_pos - s_neg, t_pos - t_neg)
        loss.backward()
        opt.step()

    step(False)  # warm-up: Adam creates its state on the first step
    step(True)
    params = list(model.parameters())
    out = {
        "torch": torch.__version__,
        "layers": args.layers,
        "batch": b,
        "saved_bytes": sum(saved.values()),
        "weight_bytes": nbytes(params),
        "grad_bytes": nbytes([p.grad for p in params if p.grad is not None]),
        "adam_bytes": nbytes([t for s in opt.state.values() for t in s.values() if torch.is_tensor(t) and t.dim() > 0]),
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    out["accounted_bytes"] = out["saved_bytes"] + out["weight_bytes"] + out["grad_bytes"] + out["adam_bytes"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
