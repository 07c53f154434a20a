import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { writeRun, type Run } from '../data/runs.js';
import { Bm25Index } from '../eval/bm25.js';
import { CONCEPTS, NEUTRAL, QUERY_TEMPLATES, SENTENCE_TEMPLATES } from './lexicon.js';
import { Rng } from '../common/rng.js';

/**
 * A deterministic MS MARCO-shaped dataset for the quickstart, written in the real file formats.
 *
 * Every passage is about a topic, an unordered pair of concepts (lexicon.ts); a query asks about one topic
 * and every passage of that topic is relevant to it. Words are drawn independently from each concept's
 * synonyms, so a query and its relevant passages often share few or no words, while passages of other
 * topics that share one concept (or mention it in an aside) share query words without being relevant:
 * BM25 is misled, an encoder that learns the synonyms from the teacher is not.
 * The teacher is a noisy cross-scorer that knows the topics: 4 per shared topic concept − 4, plus noise.
 * Held-out query sets: `dev` (the report's) and `val` (validation during training), each with qrels and
 * the built-in BM25's top-k run over the collection as re-ranking candidates.
 * For group training (data.groups), the training queries also get qrels and a teacher run: BM25's top-k plus
 * the judged passages (as one adds the qrels positives before a cross-encoder re-ranks), each scored by the
 * same teacher, so K negatives per query can be drawn from it.
 */
export interface GenerateOptions {
  seed: number;
  /** Queried topics (distinct concept pairs). */
  topics: number;
  passagesPerTopic: number;
  /** Passages of further concept pairs that no query asks about. */
  extraPassages: number;
  trainQueries: number;
  devQueries: number;
  valQueries: number;
  /** Depth of the BM25 candidate runs. */
  bm25Depth: number;
  triplesPerQuery: number;
  /** Standard deviation of the teacher's noise (its margins are 4 and 8). */
  teacherNoise: number;
  /** BM25 depth of the training queries' teacher run (their judged passages are added). */
  teacherRunDepth: number;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  seed: 42,
  topics: 400,
  passagesPerTopic: 3,
  extraPassages: 300,
  trainQueries: 2400,
  devQueries: 200,
  valQueries: 100,
  bm25Depth: 100,
  triplesPerQuery: 8,
  teacherNoise: 1,
  teacherRunDepth: 30,
};

type Topic = readonly [number, number];

export interface Passage {
  pid: string;
  text: string;
  /** Index into the topic list (queried topics first, then the extra ones). */
  topic: number;
}

export interface Query {
  qid: string;
  text: string;
  topic: number;
}

export interface Triple {
  posScore: number;
  negScore: number;
  qid: string;
  posPid: string;
  negPid: string;
}

export interface Dataset {
  options: GenerateOptions;
  topics: Topic[];
  passages: Passage[];
  trainQueries: Query[];
  devQueries: Query[];
  valQueries: Query[];
  triples: Triple[];
}

/** The files `writeDataset` makes, by role. */
export interface DatasetFiles {
  dir: string;
  collection: string;
  queriesTrain: string;
  /** Per held-out set (`dev`, `val`): queries, qrels (`qid 0 pid 1`) and the BM25 candidate run (TREC). */
  queriesDev: string;
  qrelsDev: string;
  bm25Dev: string;
  queriesVal: string;
  qrelsVal: string;
  bm25Val: string;
  /** `pos_score<TAB>neg_score<TAB>qid<TAB>pos_pid<TAB>neg_pid`, as the published teacher score files. */
  trainScores: string;
  /** Qrels of the training queries and their teacher run (TREC, the teacher's scores): a `data.groups` teacher-run source. */
  qrelsTrain: string;
  teacherRunTrain: string;
  manifest: string;
}

export function datasetFiles(dir: string): DatasetFiles {
  return {
    dir,
    collection: path.join(dir, 'collection.tsv'),
    queriesTrain: path.join(dir, 'queries.train.tsv'),
    queriesDev: path.join(dir, 'queries.dev.tsv'),
    qrelsDev: path.join(dir, 'qrels.dev.tsv'),
    bm25Dev: path.join(dir, 'run.bm25.dev.trec'),
    queriesVal: path.join(dir, 'queries.val.tsv'),
    qrelsVal: path.join(dir, 'qrels.val.tsv'),
    bm25Val: path.join(dir, 'run.bm25.val.trec'),
    trainScores: path.join(dir, 'triples.train.scores.tsv'),
    qrelsTrain: path.join(dir, 'qrels.train.tsv'),
    teacherRunTrain: path.join(dir, 'run.teacher.train.trec'),
    manifest: path.join(dir, 'dataset.json'),
  };
}

export function buildDataset(options: GenerateOptions = DEFAULT_GENERATE): Dataset {
  const o = options;
  const maxPairs = (CONCEPTS.length * (CONCEPTS.length - 1)) / 2;
  if (o.topics + Math.ceil(o.extraPassages / o.passagesPerTopic) > maxPairs)
    throw new RangeError(`at most ${maxPairs} topics fit ${CONCEPTS.length} concepts`);
  const rng = new Rng(o.seed);
  // Registers, as in real search logs: queries mostly use a concept's first (plain) word, passages mostly
  // the others, so a relevant passage seldom repeats the query's word.
  const queryWord = (concept: number) => {
    const words = CONCEPTS[concept];
    return rng.next() < 0.6 ? words[0] : rng.pick(words);
  };
  const passageWord = (concept: number) => {
    const words = CONCEPTS[concept];
    return rng.next() < 0.15 ? words[0] : words[1 + rng.int(words.length - 1)];
  };

  // Distinct concept pairs: the queried topics, then those of the extra passages.
  const extraTopics = Math.ceil(o.extraPassages / o.passagesPerTopic);
  const seen = new Set<string>();
  const topics: Topic[] = [];
  while (topics.length < o.topics + extraTopics) {
    const a = rng.int(CONCEPTS.length);
    const b = rng.int(CONCEPTS.length);
    const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
    if (a === b || seen.has(key)) continue;
    seen.add(key);
    topics.push([a, b]);
  }

  const fill = (template: string, slots: Record<string, () => string>) =>
    template
      .split(' ')
      .map((t) => (slots[t] ? slots[t]() : t))
      .join(' ');
  const neutral = () => rng.pick(NEUTRAL);

  // Two sentences about the topic, then, one time in two, an aside naming another concept.
  const passageText = ([a, b]: Topic) => {
    const sentences: string[] = [];
    const pairs: [number, number][] = [rng.next() < 0.5 ? [a, b] : [b, a], rng.next() < 0.5 ? [a, b] : [b, a]];
    if (rng.next() < 0.5) pairs.push([rng.int(CONCEPTS.length), rng.next() < 0.5 ? a : b]);
    for (const [x, y] of pairs)
      sentences.push(fill(rng.pick(SENTENCE_TEMPLATES), { X: () => passageWord(x), Y: () => passageWord(y), n: neutral }));
    return sentences.join(' . ');
  };
  const drafts: { text: string; topic: number }[] = [];
  for (let t = 0; t < o.topics; t++)
    for (let k = 0; k < o.passagesPerTopic; k++) drafts.push({ text: passageText(topics[t]), topic: t });
  for (let k = 0; k < o.extraPassages; k++) {
    const t = o.topics + Math.floor(k / o.passagesPerTopic);
    drafts.push({ text: passageText(topics[t]), topic: t });
  }
  // Shuffled, so a passage's id tells nothing about its topic.
  const passages: Passage[] = rng.shuffle(drafts).map((d, i) => ({ pid: String(i), ...d }));

  const queryText = ([a, b]: Topic) => {
    const [x, y] = rng.next() < 0.5 ? [a, b] : [b, a];
    return fill(rng.pick(QUERY_TEMPLATES), { A: () => queryWord(x), B: () => queryWord(y), n: neutral });
  };
  const trainQueries: Query[] = [];
  for (let i = 0; i < o.trainQueries; i++) {
    const topic = i % o.topics; // every topic is trained on
    trainQueries.push({ qid: String(100000 + i), text: queryText(topics[topic]), topic });
  }
  // Held-out queries: other wordings of queried topics, never a training query's exact text.
  const trainTexts = new Set(trainQueries.map((q) => q.text));
  const heldOut = (n: number, firstQid: number) => {
    const out: Query[] = [];
    const order = rng.shuffle([...Array(o.topics).keys()]);
    for (let i = 0; i < n; i++) {
      const topic = order[i % order.length];
      let text = queryText(topics[topic]);
      for (let tries = 0; trainTexts.has(text) && tries < 50; tries++) text = queryText(topics[topic]);
      out.push({ qid: String(firstQid + i), text, topic });
    }
    return out;
  };
  const devQueries = heldOut(o.devQueries, 200000);
  const valQueries = heldOut(o.valQueries, 300000);

  const byTopic = new Map<number, Passage[]>();
  const byConcept = new Map<number, Passage[]>();
  for (const p of passages) {
    byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    for (const c of topics[p.topic]) byConcept.set(c, [...(byConcept.get(c) ?? []), p]);
  }
  const shared = (q: Query, p: Passage) => topics[p.topic].filter((c) => topics[q.topic].includes(c)).length;
  const teacher = (q: Query, p: Passage) => 4 * shared(q, p) - 4 + o.teacherNoise * rng.normal();

  // Negatives as BM25 would find them: mostly passages sharing one of the query's concepts, some random.
  const triples: Triple[] = [];
  for (const q of trainQueries) {
    const positives = byTopic.get(q.topic) ?? [];
    for (let k = 0; k < o.triplesPerQuery; k++) {
      const pos = rng.pick(positives);
      let neg: Passage;
      do {
        neg = rng.next() < 0.6 ? rng.pick(byConcept.get(rng.pick(topics[q.topic])) ?? passages) : rng.pick(passages);
      } while (neg.topic === q.topic);
      triples.push({ posScore: teacher(q, pos), negScore: teacher(q, neg), qid: q.qid, posPid: pos.pid, negPid: neg.pid });
    }
  }
  return { options: o, topics, passages, trainQueries, devQueries, valQueries, triples: rng.shuffle(triples) };
}

/**
 * The training queries' teacher run: per query, BM25's candidates (`bm25`) plus every passage of its topic,
 * scored by the teacher of the triples (4 per shared topic concept - 4, plus noise) from its own seeded stream,
 * so the other files do not change with it.
 */
export function teacherRun(ds: Dataset, bm25: Run): Run {
  const rng = new Rng(ds.options.seed ^ 0x5eed7ea);
  const byPid = new Map(ds.passages.map((p) => [p.pid, p]));
  const run: Run = new Map();
  for (const q of ds.trainQueries) {
    const pids = new Set([...(bm25.get(q.qid) ?? []).map((d) => d.docno), ...ds.passages.filter((p) => p.topic === q.topic).map((p) => p.pid)]);
    const shared = (p: Passage) => ds.topics[p.topic].filter((c) => ds.topics[q.topic].includes(c)).length;
    run.set(q.qid, [...pids].map((pid) => ({ docno: pid, score: Number((4 * shared(byPid.get(pid)!) - 4 + ds.options.teacherNoise * rng.normal()).toFixed(4)) })));
  }
  return run;
}

/** Qrels of held-out queries: every passage of the query's topic, grade 1. */
export function qrelsOf(ds: Dataset, queries: Query[]): Map<string, string[]> {
  const qrels = new Map<string, string[]>();
  for (const q of queries) qrels.set(q.qid, ds.passages.filter((p) => p.topic === q.topic).map((p) => p.pid));
  return qrels;
}

const tsv = (rows: string[][]) => rows.map((r) => `${r.join('\t')}\n`).join('');

export async function writeDataset(dir: string, ds: Dataset): Promise<DatasetFiles> {
  const f = datasetFiles(dir);
  await writeFileAtomic(f.collection, tsv(ds.passages.map((p) => [p.pid, p.text])));
  await writeFileAtomic(f.queriesTrain, tsv(ds.trainQueries.map((q) => [q.qid, q.text])));
  const bm25 = await Bm25Index.build(ds.passages.map((p) => ({ id: p.pid, text: p.text })));
  const sets = [
    [ds.devQueries, f.queriesDev, f.qrelsDev, f.bm25Dev],
    [ds.valQueries, f.queriesVal, f.qrelsVal, f.bm25Val],
  ] as const;
  let qrelsLines = 0;
  for (const [queries, queriesFile, qrelsFile, runFile] of sets) {
    const qrels = qrelsOf(ds, queries);
    qrelsLines += [...qrels.values()].reduce((s, v) => s + v.length, 0);
    await writeFileAtomic(queriesFile, tsv(queries.map((q) => [q.qid, q.text])));
    await writeFileAtomic(qrelsFile, [...qrels].flatMap(([qid, pids]) => pids.map((pid) => `${qid} 0 ${pid} 1\n`)).join(''));
    await writeRun(runFile, bm25.searchRun(new Map(queries.map((q) => [q.qid, q.text])), ds.options.bm25Depth), 'bm25');
  }
  const trainQrels = qrelsOf(ds, ds.trainQueries);
  await writeFileAtomic(f.qrelsTrain, [...trainQrels].flatMap(([qid, pids]) => pids.map((pid) => `${qid} 0 ${pid} 1\n`)).join(''));
  const candidates = bm25.searchRun(new Map(ds.trainQueries.map((q) => [q.qid, q.text])), ds.options.teacherRunDepth);
  await writeRun(f.teacherRunTrain, teacherRun(ds, candidates), 'teacher');
  await writeFileAtomic(
    f.trainScores,
    tsv(ds.triples.map((t) => [t.posScore.toFixed(4), t.negScore.toFixed(4), t.qid, t.posPid, t.negPid])),
  );
  await writeJsonAtomic(f.manifest, {
    generator: 'margin-mse quickstart',
    options: ds.options,
    counts: {
      passages: ds.passages.length,
      trainQueries: ds.trainQueries.length,
      devQueries: ds.devQueries.length,
      valQueries: ds.valQueries.length,
      triples: ds.triples.length,
      qrels: qrelsLines,
    },
  });
  return f;
}

/** Builds the dataset for `options` and writes it to `dir`. */
export async function generate(dir: string, options: Partial<GenerateOptions> = {}): Promise<DatasetFiles> {
  return writeDataset(dir, buildDataset({ ...DEFAULT_GENERATE, ...options }));
}
