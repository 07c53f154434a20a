#!/usr/bin/env python3
"""A PyTorch BERT_Dot reference (format of ../shared/goldens/distilbert-tiny/golden.json) for any HF DistilBERT
folder, on inputs cut from the distilbert-tiny golden to fit max_position_embeddings.
Usage: make_reference.py MODEL_DIR OUT.json [--qlen 16 --plen 48] [--mutate none|transpose_q|no_sa_ln|pos_shift|no_mask]
                         [--f64] [--golden GOLDEN.json]
Mutations compute the reference with a deliberate mistake, to prove `model parity` fails on it; --f64 computes in
float64 (to measure PyTorch's own float32 error). The inputs and teacher scores come from --golden (default
../shared/goldens/distilbert-tiny/golden.json beside the checkout)."""
import argparse, json, math, os, struct
import numpy as np
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('model'); ap.add_argument('out')
ap.add_argument('--qlen', type=int, default=16); ap.add_argument('--plen', type=int, default=48)
ap.add_argument("--mutate", default="none"); ap.add_argument("--f64", action="store_true")
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..'))
ap.add_argument('--golden', default=os.path.join(ROOT, '..', 'shared', 'goldens', 'distilbert-tiny', 'golden.json'))
a = ap.parse_args()
torch.set_default_dtype(torch.float64 if a.f64 else torch.float32)

def read_st(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); base = 8 + n; out = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']; assert v['dtype'] == 'F32', v['dtype']
        out[k] = torch.tensor(np.frombuffer(b[base + s:base + e], dtype='<f4').reshape(v['shape']).copy())
    return out

cfg = json.load(open(f'{a.model}/config.json'))
W = {k.replace('distilbert.', ''): v.clone().to(torch.get_default_dtype()).requires_grad_(True) for k, v in read_st(f'{a.model}/model.safetensors').items()}
gold = json.load(open(a.golden))

def cut(part, L):
    # Row i keeps L - 5i tokens (ending in [SEP]) and is padded to L, so the attention mask matters.
    ids, mask = [], []
    for i, r in enumerate(gold[part]['input_ids']):
        n = max(4, L - 5 * i)
        row = r[:n - 1] + [102]
        ids.append(row + [0] * (L - n)); mask.append([1] * n + [0] * (L - n))
    return {'input_ids': ids, 'attention_mask': mask}

inp = {'query': cut('query', a.qlen), 'pos': cut('pos', a.plen), 'neg': cut('neg', a.plen)}
H, D = cfg['n_heads'], cfg['dim']

def ln(x, p): return F.layer_norm(x, (D,), W[p + '.weight'], W[p + '.bias'], eps=1e-12)
def lin(x, p, t=False):
    w = W[p + '.weight']
    return x @ (w if t else w.t()) + W[p + '.bias']

def encode(part):
    ids = torch.tensor(inp[part]['input_ids']); mask = torch.tensor(inp[part]['attention_mask'])
    b, L = ids.shape
    pos = torch.arange(L) + (1 if a.mutate == 'pos_shift' else 0)
    x = ln(W['embeddings.word_embeddings.weight'][ids] + W['embeddings.position_embeddings.weight'][pos][None], 'embeddings.LayerNorm')
    for l in range(cfg['n_layers']):
        p = f'transformer.layer.{l}'
        split = lambda t: t.view(b, L, H, D // H).transpose(1, 2)
        q = split(lin(x, p + '.attention.q_lin', t=(a.mutate == 'transpose_q' and l == 0))) / math.sqrt(D // H)
        k = split(lin(x, p + '.attention.k_lin')); v = split(lin(x, p + '.attention.v_lin'))
        s = q @ k.transpose(-1, -2)
        if a.mutate != 'no_mask':
            s = s.masked_fill((mask == 0).view(b, 1, 1, L), torch.finfo(s.dtype).min)
        ctx = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, L, D)
        h = lin(ctx, p + '.attention.out_lin') + x
        x = h if (a.mutate == 'no_sa_ln' and l == 0) else ln(h, p + '.sa_layer_norm')
        x = ln(lin(F.gelu(lin(x, p + '.ffn.lin1')), p + '.ffn.lin2') + x, p + '.output_layer_norm')
    return x[:, 0]

tp = torch.tensor(gold['teacher_pos']); tn = torch.tensor(gold['teacher_neg'])
def forward():
    qc, pc, nc = encode('query'), encode('pos'), encode('neg')
    sp, sn = (qc * pc).sum(-1), (qc * nc).sum(-1)
    loss = (((sp - sn) - (tp - tn)) ** 2).mean()
    return qc, pc, nc, sp, sn, loss

qc, pc, nc, sp, sn, loss = forward()
loss.backward()
for w in W.values():
    if w.grad is None: w.grad = torch.zeros_like(w)  # parameters a mutation leaves unused
names = list(W.keys())
L = lambda t: t.detach().flatten().tolist()
ref = {'about': f'reference from make_reference.py, mutate={a.mutate}', 'config': cfg, 'adam': gold['adam'], **inp,
       'teacher_pos': gold['teacher_pos'], 'teacher_neg': gold['teacher_neg'],
       'query_cls': qc.detach().tolist(), 'pos_cls': pc.detach().tolist(), 'neg_cls': nc.detach().tolist(),
       'score_pos': L(sp), 'score_neg': L(sn), 'loss': loss.item(),
       'grad_global_norm': math.sqrt(sum(float((W[n].grad.double() ** 2).sum()) for n in names)),
       'grad_norms': {n: float(W[n].grad.double().norm()) for n in names},
       'grad_samples': {n: L(W[n].grad)[:8] for n in gold['grad_samples']}}
opt = torch.optim.Adam(W.values(), lr=gold['adam']['lr'], betas=(gold['adam']['beta1'], gold['adam']['beta2']), eps=gold['adam']['eps'])
opt.step()
with torch.no_grad():
    _, _, _, sp2, sn2, loss2 = forward()
ref['after_adam_step'] = {'loss': loss2.item(), 'score_pos': L(sp2), 'score_neg': L(sn2),
                          'param_samples': {n: L(W[n])[:8] for n in gold['after_adam_step']['param_samples']}}
json.dump(ref, open(a.out, 'w'))
print('wrote', a.out, 'loss', loss.item())
