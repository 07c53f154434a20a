"""Makes the torch.save fixtures of models/weights/torch-bin.test.ts (run once with PyTorch; tests never need it).

    /usr/bin/python3 models/weights/testdata/make_fixtures.py

features-zip.bin and features-legacy.bin hold one state dict in both layouts with what published checkpoints
contain beyond plain float32 matrices: an int64 buffer (like embeddings.position_ids), bfloat16 and float16
(with infinities, NaN, subnormals, -0), tied weights (two names, one storage), views with a storage offset
and transposed strides over one shared storage, a 0-d and an empty tensor, small integer dtypes, an
nn.Parameter, and the OrderedDict `_metadata` a module's state_dict() carries. features.json is what
torch.load gives back for each (float32 bits as hex for the floats, so NaN payloads are compared too).
int64-overflow-zip.bin holds an int64 value that does not fit int32.
"""
import collections
import json
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)

base = torch.arange(20, dtype=torch.float32) * 0.25  # one storage shared by the views below
tied = torch.randn(3, 4)
sd = collections.OrderedDict()
sd['embeddings.position_ids'] = torch.arange(6, dtype=torch.int64).unsqueeze(0)
sd['bf16'] = torch.tensor([[1.0, -2.5, 3.140625], [1e-40, float('inf'), float('nan')]], dtype=torch.bfloat16)
sd['f16'] = torch.tensor([[0.0, -0.0, 65504.0, 6e-8], [float('inf'), float('-inf'), float('nan'), 0.333]], dtype=torch.float16)
sd['tied_a'] = tied
sd['tied_b'] = tied
sd['slice'] = base[5:11].view(2, 3)
sd['slice_t'] = base[2:14].view(3, 4).t()
sd['every_other'] = base[1::2]
sd['scalar'] = torch.tensor(3.5)
sd['empty'] = torch.zeros(0, 4)
sd['i32'] = torch.tensor([-7, 2 ** 31 - 1], dtype=torch.int32)
sd['i16'] = torch.tensor([-300, 300], dtype=torch.int16)
sd['i8'] = torch.tensor([-128, 127], dtype=torch.int8)
sd['u8'] = torch.tensor([0, 255], dtype=torch.uint8)
sd['param'] = torch.nn.Parameter(torch.tensor([1.5, -1.5]))
sd._metadata = collections.OrderedDict([('', {'version': 1}), ('embeddings', {'version': 1})])

torch.save(sd, os.path.join(here, 'features-zip.bin'))
torch.save(sd, os.path.join(here, 'features-legacy.bin'), _use_new_zipfile_serialization=False)
torch.save({'ids': torch.tensor([1, 2 ** 40])}, os.path.join(here, 'int64-overflow-zip.bin'))

expected = {}
for name, t in torch.load(os.path.join(here, 'features-zip.bin')).items():
    t = t.detach().contiguous()
    entry = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape)}
    if t.is_floating_point():
        entry['bits'] = ['%08x' % (b & 0xFFFFFFFF) for b in t.float().view(torch.int32).flatten().tolist()]
    else:
        entry['values'] = t.flatten().tolist()
    expected[name] = entry
with open(os.path.join(here, 'features.json'), 'w') as f:
    json.dump(expected, f, indent=1)
    f.write('\n')
