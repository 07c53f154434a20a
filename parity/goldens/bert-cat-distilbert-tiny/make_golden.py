"""Makes the golden of the matchmaker BERT_Cat whose encoder is DistilBERT (run once; tests never need Python).

    /usr/bin/python3 parity/goldens/bert-cat-distilbert-tiny/make_golden.py

matchmaker's BERT_Cat (github.com/sebastian-hofstaetter/matchmaker, models/bert_cat.py) with a DistilBERT
`bert_model` scores `_classification_layer(bert_model(**tokens)[0][:, 0, :])`: the linear layer on the CLS
vector of the last hidden state (DistilBERT has no pooler and takes no token types). HF transformers is not
installed here, so the DistilBertModel forward is written out in plain torch as HF computes it: word +
learned position embeddings, LayerNorm (eps 1e-12), post-LN blocks (attention with queries scaled by
1/sqrt(head dim) and masked keys at the dtype's minimum before the softmax, erf GELU), no dropout.

Writes beside this script:
  config.json        matchmaker's BERT_Cat_Config fields plus the encoder's DistilBertConfig sizes
  model.safetensors  the state dict (keys as matchmaker saves them), written by the format's rules by hand
                     (the safetensors package is not installed); float32, plus the int64 position_ids buffer
                     that transformers < 4.31 kept in DistilBERT state dicts
  pytorch_model/     the same config.json and state dict as torch.save writes it (zip layout): pytorch_model.bin
  golden.json        six [CLS] query [SEP] passage [SEP] inputs (token types present, as a BERT tokenizer
                     gives them, and ignored by DistilBERT), padding masks, and the CLS vectors and scores
"""
import collections
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB, DIM, LAYERS, HEADS, FFN, POSITIONS = 30522, 32, 2, 4, 64, 512
EPS = 1e-12
P = 'bert_model.'

torch.manual_seed(20240613)


def randn(*shape, std):
    return (torch.randn(*shape) * std).float()


def linear(sd, name, n_out, n_in):
    # Weights large enough that every block changes the result well beyond float32 noise.
    sd[name + '.weight'] = randn(n_out, n_in, std=1 / math.sqrt(n_in))
    sd[name + '.bias'] = randn(n_out, std=0.1)


def norm(sd, name):
    sd[name + '.weight'] = 1 + randn(DIM, std=0.1)
    sd[name + '.bias'] = randn(DIM, std=0.1)


sd = collections.OrderedDict()
sd[P + 'embeddings.word_embeddings.weight'] = randn(VOCAB, DIM, std=0.5)
sd[P + 'embeddings.position_embeddings.weight'] = randn(POSITIONS, DIM, std=0.5)
norm(sd, P + 'embeddings.LayerNorm')
for layer in range(LAYERS):
    b = f'{P}transformer.layer.{layer}.'
    for lin in ('q_lin', 'k_lin', 'v_lin', 'out_lin'):
        linear(sd, b + 'attention.' + lin, DIM, DIM)
    norm(sd, b + 'sa_layer_norm')
    linear(sd, b + 'ffn.lin1', FFN, DIM)
    linear(sd, b + 'ffn.lin2', DIM, FFN)
    norm(sd, b + 'output_layer_norm')
linear(sd, '_classification_layer', 1, DIM)
sd[P + 'embeddings.position_ids'] = torch.arange(POSITIONS, dtype=torch.int64).unsqueeze(0)


def lin(x, name):
    return F.linear(x, sd[name + '.weight'], sd[name + '.bias'])


def layer_norm(x, name):
    return F.layer_norm(x, (DIM,), sd[name + '.weight'], sd[name + '.bias'], EPS)


def forward(ids, mask):
    """ids, mask: int64 [b, L] -> cls [b, DIM], scores [b]."""
    b, length = ids.shape
    dh = DIM // HEADS
    x = sd[P + 'embeddings.word_embeddings.weight'][ids] + sd[P + 'embeddings.position_embeddings.weight'][:length][None]
    x = layer_norm(x, P + 'embeddings.LayerNorm')
    for layer in range(LAYERS):
        n = f'{P}transformer.layer.{layer}.'

        def heads(t):  # [b, L, DIM] -> [b, HEADS, L, dh]
            return t.view(b, length, HEADS, dh).transpose(1, 2)

        q = heads(lin(x, n + 'attention.q_lin')) / math.sqrt(dh)
        k, v = heads(lin(x, n + 'attention.k_lin')), heads(lin(x, n + 'attention.v_lin'))
        scores = q @ k.transpose(-1, -2)  # [b, HEADS, L, L]
        scores = scores.masked_fill((mask == 0).view(b, 1, 1, length), torch.finfo(scores.dtype).min)
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, length, DIM)
        x = layer_norm(lin(context, n + 'attention.out_lin') + x, n + 'sa_layer_norm')
        x = layer_norm(lin(F.gelu(lin(x, n + 'ffn.lin1')), n + 'ffn.lin2') + x, n + 'output_layer_norm')
    cls = x[:, 0, :]
    return cls, lin(cls, '_classification_layer').squeeze(-1)


# Six pairs of different lengths, padded to the longest: [CLS] q [SEP] p [SEP], types 0 then 1.
rows, types = [], []
for q_len, p_len in [(3, 20), (8, 40), (1, 5), (12, 61), (5, 33), (20, 7)]:
    q = torch.randint(1000, VOCAB, (q_len,)).tolist()
    p = torch.randint(1000, VOCAB, (p_len,)).tolist()
    rows.append([101] + q + [102] + p + [102])
    types.append([0] * (q_len + 2) + [1] * (p_len + 1))
length = max(map(len, rows))
ids = torch.tensor([r + [0] * (length - len(r)) for r in rows])
mask = torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in rows])
type_ids = torch.tensor([t + [0] * (length - len(t)) for t in types])

with torch.no_grad():
    cls, scores = forward(ids, mask)
    _, unmasked = forward(ids, torch.ones_like(mask))
mask_effect = (unmasked - scores).abs().max().item()

config = {
    'architectures': ['BERT_Cat'],
    'model_type': 'BERT_Cat',
    'bert_model': 'distilbert-base-uncased',
    'trainable': True,
    'vocab_size': VOCAB,
    'max_position_embeddings': POSITIONS,
    'dim': DIM,
    'n_layers': LAYERS,
    'n_heads': HEADS,
    'hidden_dim': FFN,
    'activation': 'gelu',
}


def write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f, indent=2)
        f.write('\n')


def write_safetensors(path, tensors):
    """safetensors by its spec: u64 header length, JSON header (names sorted, offsets), row-major LE data."""
    dtypes = {torch.float32: 'F32', torch.int64: 'I64'}
    header = {'__metadata__': {'format': 'pt'}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtypes[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * ((8 - (len(text.encode()) + 8) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text.encode())) + text.encode())
        for blob in blobs:
            f.write(blob)


write_json(os.path.join(HERE, 'config.json'), config)
write_safetensors(os.path.join(HERE, 'model.safetensors'), sd)
os.makedirs(os.path.join(HERE, 'pytorch_model'), exist_ok=True)
write_json(os.path.join(HERE, 'pytorch_model', 'config.json'), config)
torch.save(sd, os.path.join(HERE, 'pytorch_model', 'pytorch_model.bin'))

# The .bin must give back exactly the tensors above.
loaded = torch.load(os.path.join(HERE, 'pytorch_model', 'pytorch_model.bin'))
assert list(loaded) == list(sd) and all(torch.equal(loaded[k], sd[k]) for k in sd)

write_json(os.path.join(HERE, 'golden.json'), {
    'about': (
        'matchmaker BERT_Cat with a DistilBERT bert_model (keys bert_model.embeddings.*, '
        'bert_model.transformer.layer.N.*, _classification_layer.*): score = _classification_layer(CLS of the last '
        'hidden state), no pooler, token types ignored, no dropout. Computed by make_golden.py beside this file '
        f'(plain torch {torch.__version__}, float32). Ignoring the mask moves the scores by up to {mask_effect:.3g}.'
    ),
    'config': config,
    'input_ids': ids.tolist(),
    'token_type_ids': type_ids.tolist(),
    'attention_mask': mask.tolist(),
    'cls': cls.tolist(),
    'scores': scores.tolist(),
})
print(f'scores {[round(s, 4) for s in scores.tolist()]}; mask effect {mask_effect:.3g}')
