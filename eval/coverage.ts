import type { Qrels } from '../data/qrels.js';
import type { Run } from '../data/runs.js';

/**
 * Why measures of `run` against `qrels` would be all zeros for a reason other than retrieval: an empty run
 * file, a qrels file without judgments, or no query in common (a run of another query set). Each is a
 * warning naming the file; the measures are still printed (trec_eval prints them too, and a user may mean
 * it). Empty when the two overlap.
 */
export function coverageWarnings(qrels: Qrels, run: Run, files: { qrels: string; run: string }): string[] {
  if (run.size === 0) return [`${files.run}: the run is empty (no lines): every measure is 0`];
  if (qrels.size === 0) return [`${files.qrels}: no judgments: the measures are over 0 queries`];
  const judged = [...run.keys()].filter((qid) => qrels.has(qid)).length;
  if (judged === 0) return [`${files.run}: none of its ${run.size} queries is judged in ${files.qrels}: every measure is 0 (a run of another query set?)`];
  return [];
}
