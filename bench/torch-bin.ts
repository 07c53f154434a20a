/**
 * Memory and time of reading a DistilBERT-base-sized PyTorch checkpoint (~265 MB of float32, plus an int64
 * position_ids buffer) with models/weights/torch-bin.ts, in the zip and legacy layouts and as float16.
 * The checkpoints are made with /usr/bin/python3 + torch (skipped with a note when torch is missing); each
 * is read in a child process of its own, which reports its peak RSS before and after reading.
 * Run: npx tsx bench/torch-bin.ts  → table + bench/out/torch-bin.json
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT } from '../common/paths.js';
import { readTorchBin } from '../models/weights/torch-bin.js';

const MB = 1024 * 1024;

/** DistilBERT-base's state dict (random values: reading does not depend on them), saved three ways. */
const MAKE = `
import sys, torch
d, L, V, P, F = 768, 6, 30522, 512, 3072
torch.manual_seed(0)
sd = {'embeddings.word_embeddings.weight': torch.randn(V, d), 'embeddings.position_embeddings.weight': torch.randn(P, d),
      'embeddings.position_ids': torch.arange(P).unsqueeze(0),
      'embeddings.LayerNorm.weight': torch.ones(d), 'embeddings.LayerNorm.bias': torch.zeros(d)}
for l in range(L):
    p = f'transformer.layer.{l}.'
    for m in ['q_lin', 'k_lin', 'v_lin', 'out_lin']:
        sd[p + f'attention.{m}.weight'] = torch.randn(d, d); sd[p + f'attention.{m}.bias'] = torch.randn(d)
    for n in ['sa_layer_norm', 'output_layer_norm']:
        sd[p + n + '.weight'] = torch.ones(d); sd[p + n + '.bias'] = torch.zeros(d)
    sd[p + 'ffn.lin1.weight'] = torch.randn(F, d); sd[p + 'ffn.lin1.bias'] = torch.randn(F)
    sd[p + 'ffn.lin2.weight'] = torch.randn(d, F); sd[p + 'ffn.lin2.bias'] = torch.randn(d)
out = sys.argv[1]
torch.save(sd, out + '/zip-f32.bin')
torch.save(sd, out + '/legacy-f32.bin', _use_new_zipfile_serialization=False)
torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, out + '/zip-f16.bin')
`;

interface Measure {
  file: string;
  fileMB: number;
  tensorMB: number;
  tensors: number;
  baselineRssMB: number;
  peakRssMB: number;
  seconds: number;
}

/** In the child: read one checkpoint and print what it cost. */
async function measure(file: string): Promise<void> {
  const baseline = process.resourceUsage().maxRSS * 1024; // after imports, before reading
  const t0 = performance.now();
  const { tensors } = await readTorchBin(file);
  const seconds = (performance.now() - t0) / 1000;
  let bytes = 0;
  for (const t of tensors.values()) bytes += t.data.byteLength;
  const m: Measure = {
    file: path.basename(file),
    fileMB: (await fsp.stat(file)).size / MB,
    tensorMB: bytes / MB,
    tensors: tensors.size,
    baselineRssMB: baseline / MB,
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    seconds,
  };
  console.log(JSON.stringify(m));
}

async function main(): Promise<void> {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log('skipped: /usr/bin/python3 with torch is needed to make the checkpoints');
    return;
  }
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-torch-bin-'));
  try {
    const made = spawnSync('/usr/bin/python3', ['-c', MAKE, tmp], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
    if (made.status !== 0) throw new Error('making the checkpoints failed');
    const results: Measure[] = [];
    for (const name of ['zip-f32.bin', 'legacy-f32.bin', 'zip-f16.bin']) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure', path.join(tmp, name)], { encoding: 'utf8', cwd: ROOT });
      if (child.status !== 0) throw new Error(`reading ${name} failed: ${child.stderr}`);
      results.push(JSON.parse(child.stdout.trim().split('\n').pop()!));
    }
    console.log('file            file MB  tensors MB  RSS before  peak RSS  peak - before  seconds');
    for (const r of results) {
      console.log(`${r.file.padEnd(15)} ${r.fileMB.toFixed(1).padStart(7)} ${r.tensorMB.toFixed(1).padStart(11)} ${r.baselineRssMB.toFixed(1).padStart(11)} ${r.peakRssMB.toFixed(1).padStart(9)} ${(r.peakRssMB - r.baselineRssMB).toFixed(1).padStart(14)} ${r.seconds.toFixed(2).padStart(8)}`);
    }
    await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'torch-bin.json'), { results, loadAverage: os.loadavg(), cpus: os.cpus().length });
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--measure');
await (at >= 0 ? measure(process.argv[at + 1]) : main());
