import { sharedPath } from '../../common/paths.js';
import type { Run } from '../../data/runs.js';
import { DistilBert } from '../distilbert.js';
import { saveDistilBert } from '../weights/hf.js';

/**
 * Test helpers (no test runs here) for comparing the tfjs and ONNX Runtime paths: a small random student over
 * bert-base-uncased's vocabulary, and a comparison of two runs. Its weights are drawn wider than HF's init (0.02), so different texts get
 * clearly different CLS vectors and a ranking does not hinge on float rounding.
 */
export const TEST_VOCAB = sharedPath('data/vocab/bert-base-uncased-vocab.txt');

export function tinyStudent(seed = 5): DistilBert {
  return DistilBert.random({ dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 64, initializer_range: 0.3 }, seed);
}

/** tinyStudent as a model folder (config.json, model.safetensors, vocab.txt) in `dir`. */
export async function saveTinyStudent(dir: string, seed = 5): Promise<void> {
  const model = tinyStudent(seed);
  try {
    await saveDistilBert(model, dir, { vocabFile: TEST_VOCAB });
  } finally {
    model.dispose();
  }
}

/**
 * Run `b` against run `a` (the reference): whether both hold the same queries and documents, the largest
 * score difference relative to the largest reference score of its query, and whether every query ranks its
 * documents in the same order.
 */
export function compareRuns(a: Run, b: Run): { sameDocs: boolean; maxRel: number; sameRanking: boolean } {
  const key = (run: Run) => [...run.keys()].sort().join();
  let sameDocs = key(a) === key(b);
  let maxRel = 0;
  let sameRanking = true;
  for (const [qid, docs] of a) {
    const ours = new Map((b.get(qid) ?? []).map((d) => [d.docno, d.score]));
    sameDocs &&= ours.size === docs.length && docs.every((d) => ours.has(d.docno));
    if (!sameDocs) continue;
    const scale = Math.max(...docs.map((d) => Math.abs(d.score)));
    for (const d of docs) maxRel = Math.max(maxRel, Math.abs(ours.get(d.docno)! - d.score) / scale);
    const order = (xs: [string, number][]) => [...xs].sort((x, y) => y[1] - x[1]).map(([docno]) => docno).join();
    sameRanking &&= order([...ours]) === order(docs.map((d) => [d.docno, d.score]));
  }
  return { sameDocs, maxRel: sameDocs ? maxRel : Infinity, sameRanking: sameDocs && sameRanking };
}
