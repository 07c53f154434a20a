"""PyTorch reference for bench/eval.ts: exact top-k by inner product, chunked like eval/retrieve.ts.

Usage: python3 bench/torch_topk.py QUERIES DOCS DIM K DOC_CHUNK [THREADS]
Prints one JSON line: seconds for the search (random data generated before the clock starts), threads.
Run by bench/eval.ts only when `import torch` works.
"""
import json
import sys
import time

import torch


def main() -> None:
    nq, nd, dim, k, chunk = (int(x) for x in sys.argv[1:6])
    if len(sys.argv) > 6:
        torch.set_num_threads(int(sys.argv[6]))  # torch's default here is 1 (omp_get_max_threads)
    g = torch.Generator().manual_seed(0)
    q = torch.rand(nq, dim, generator=g) - 0.5  # [nq, dim]
    blocks = [torch.rand(min(chunk, nd - s), dim, generator=g) - 0.5 for s in range(0, nd, chunk)]  # [chunk, dim] each
    t0 = time.perf_counter()
    best_v = best_i = None
    offset = 0
    with torch.no_grad():
        for b in blocks:
            scores = q @ b.T  # [nq, chunk]
            v, i = torch.topk(scores, min(k, b.shape[0]), dim=1)
            i = i + offset
            if best_v is not None:
                v = torch.cat([best_v, v], 1)
                i = torch.cat([best_i, i], 1)
                v, j = torch.topk(v, min(k, v.shape[1]), dim=1)
                i = torch.gather(i, 1, j)
            best_v, best_i = v, i
            offset += b.shape[0]
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
