import type { Qrels } from '../data/qrels.js';
import { readQrels } from '../data/qrels.js';
import { type Run, ranked, readRun } from '../data/runs.js';
import { loadIdText, readIdText } from '../data/tsv.js';
import type { ValidationConfig } from './config.js';

export interface ValidationData {
  queries: Map<string, string>;
  passages: Map<string, string>;
  run: Run;
  qrels: Qrels;
}

/** Whether the validation files are configured (all four are needed). */
export const hasValidationFiles = (v: ValidationConfig) => Boolean(v.queries && v.qrels && v.candidates && v.collection);

/**
 * Loads the validation query set: the first `max_queries` queries of the candidate run (by qid, so the subset
 * is stable), each cut to its top `top_k`; qrels restricted to the same queries (trec_eval -c counts a judged
 * query without results as 0, so judged queries outside the subset must not count); and only the passages
 * those candidates need, streamed from the collection (not all 8.8M passages in memory).
 */
export async function loadValidation(v: ValidationConfig): Promise<ValidationData> {
  const full = await readRun(v.candidates!);
  const qids = [...full.keys()].sort().slice(0, v.max_queries ?? undefined);
  const run: Run = new Map(qids.map((q) => [q, ranked(full.get(q)!).slice(0, v.top_k)]));
  const allQrels = await readQrels(v.qrels!);
  const qrels: Qrels = new Map(qids.flatMap((q) => (allQrels.has(q) ? [[q, allQrels.get(q)!]] : [])));
  const queries = await loadIdText(v.queries!);
  const need = new Set([...run.values()].flatMap((docs) => docs.map((d) => d.docno)));
  const passages = new Map<string, string>();
  for await (const { id, text } of readIdText(v.collection!)) if (need.has(id)) passages.set(id, text);
  return { queries, passages, run, qrels };
}
