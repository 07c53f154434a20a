import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { readRun } from '../data/runs.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { retrieveOptions, encodeOptions } from '../eval/config.js';
import { retrieve } from '../eval/retrieve.js';
import { encodeCollection, modelIdentity } from '../eval/vector-index.js';
import { generatedCollection } from '../eval/testing.js';
import { testBackend } from '../models/engine/testing.js';
import { compareRuns, saveTinyStudent, TEST_VOCAB } from '../models/onnx/testing.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { compare } from '../parity/reference.js';
import { Config } from '../pipelines/config.js';

/**
 * `--inference` through the CLI: each command prints the engine it used, and ONNX Runtime's scores equal the
 * tfjs path's within 1e-4 relative with the same rankings (eval rerank, eval encode + retrieve, teachers score).
 * MARGIN_MSE_THREADS=1 comes from vitest.config.ts.
 */
const run = promisify(execFile);
const TOL = 1e-4;
const tmp = tempFiles('inference-cli-');
const student = path.join(tmp.dir, 'student');
const passages = generatedCollection(30);
const queries = new Map([['q1', 'apple river'], ['q2', 'winter ocean coffee'], ['q3', 'doctor garden'], ['q4', 'silver bridge']]);
let files: { collection: string; queries: string; candidates: string };

/** The CLI (tsx itself: npx would add npm's warning about .npmrc); resolves with stdout and stderr, rejects on a non-zero exit. */
async function cli(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['cli/main.ts', ...args], { cwd: ROOT });
  return stdout + stderr;
}
const engineLine = (out: string) => out.split('\n').find((l) => l.startsWith('inference: '));
/** The tiny student has 64 positions: the commands refuse longer sequence lengths (the defaults are 200). */
const LENGTHS = ['--set', 'data.query_max_length=64', '--set', 'data.passage_max_length=64'];

testBackend();
beforeAll(async () => {
  await saveTinyStudent(student);
  files = {
    collection: tmp(passages.map((p) => `${p.id}\t${p.text}\n`).join(''), 'collection.tsv'),
    queries: tmp([...queries].map(([q, t]) => `${q}\t${t}\n`).join(''), 'queries.tsv'),
    candidates: tmp([...queries.keys()].flatMap((q) => passages.map((p, i) => `${q} Q0 ${p.id} ${i + 1} ${-i} bm25\n`)).join(''), 'candidates.trec'),
  };
});
afterAll(() => fsp.rm(tmp.dir, { recursive: true, force: true }));

describe('--inference', () => {
  it('eval rerank: auto takes ONNX Runtime on wasm, with the tfjs scores and rankings', async () => {
    const common = ['eval', 'rerank', '--model', student, '--collection', files.collection, '--queries', files.queries, '--run', files.candidates, '--backend', 'wasm', ...LENGTHS];
    const outs = { tfjs: path.join(tmp.dir, 'tfjs.trec'), auto: path.join(tmp.dir, 'auto.trec') };
    const a = await cli(...common, '--out', outs.tfjs, '--inference', 'tfjs');
    const b = await cli(...common, '--out', outs.auto);
    expect(engineLine(a)).toBe('inference: tfjs, wasm backend (inference tfjs)');
    expect(engineLine(b)).toMatch(/^inference: ONNX Runtime [\d.]+, cpu provider, 1 thread \(auto: tfjs runs on wasm\)$/);
    const cmp = compareRuns(await readRun(outs.tfjs), await readRun(outs.auto));
    expect(cmp).toMatchObject({ sameDocs: true, sameRanking: true });
    expect(cmp.maxRel).toBeLessThan(TOL);
  }, 120_000);

  it('eval encode + retrieve on ONNX Runtime give the tfjs path\'s retrieval', async () => {
    const index = path.join(tmp.dir, 'index-onnx');
    const out = path.join(tmp.dir, 'retrieved.trec');
    const e = await cli('eval', 'encode', '--model', student, '--collection', files.collection, '--out', index, '--inference', 'onnx', '--backend', 'cpu', '--shard-size', '12', ...LENGTHS);
    const r = await cli('eval', 'retrieve', '--model', student, '--index', index, '--queries', files.queries, '--out', out, '--k', '10', '--inference', 'onnx', '--backend', 'cpu', ...LENGTHS);
    for (const o of [e, r]) expect(engineLine(o)).toMatch(/^inference: ONNX Runtime [\d.]+, cpu provider, 1 thread \(inference onnx\)$/);

    // The tfjs path in this process, with the same settings as the commands'.
    const settings = Config.parse({ data: { query_max_length: 64, passage_max_length: 64 } });
    const model = await loadDistilBert(student);
    const tokenizer = await loadTokenizer(TEST_VOCAB);
    const tfjsIndex = path.join(tmp.dir, 'index-tfjs');
    async function* source() {
      for (const p of passages) yield p;
    }
    const id = await modelIdentity(student);
    await encodeCollection(model, tokenizer, source(), tfjsIndex, { ...encodeOptions(settings, id), shardSize: 12 });
    const ref = await retrieve(model, tokenizer, queries, tfjsIndex, { ...retrieveOptions(settings, id), k: 10 });
    model.dispose();
    const cmp = compareRuns(ref, await readRun(out));
    expect(cmp).toMatchObject({ sameDocs: true, sameRanking: true });
    expect(cmp.maxRel).toBeLessThan(TOL);
  }, 180_000);

  it('teachers score: ONNX Runtime gives the tfjs scores', async () => {
    const triples = tmp((await fsp.readFile(sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv'), 'utf8')).split('\n').slice(0, 24).join('\n') + '\n', 'triples.tsv');
    const common = ['teachers', 'score', '--model', sharedPath('goldens', 'bert-cat-tiny'), '--vocab', TEST_VOCAB, '--triples', triples, '--max-length', '64', '--backend', 'wasm'];
    const outs = { tfjs: path.join(tmp.dir, 'tfjs.scores'), onnx: path.join(tmp.dir, 'onnx.scores') };
    const a = await cli(...common, '--out', outs.tfjs, '--inference', 'tfjs');
    const b = await cli(...common, '--out', outs.onnx, '--inference', 'onnx');
    expect(engineLine(a)).toBe('inference: tfjs, wasm backend (inference tfjs)');
    expect(engineLine(b)).toMatch(/^inference: ONNX Runtime [\d.]+, cpu provider, 1 thread \(inference onnx\)$/);
    const rows = async (f: string) => (await fsp.readFile(f, 'utf8')).trim().split('\n').map((l) => l.split('\t'));
    const [ra, rb] = [await rows(outs.tfjs), await rows(outs.onnx)];
    expect(ra).toHaveLength(24);
    expect(rb.map((r) => r.slice(2))).toEqual(ra.map((r) => r.slice(2)));
    const scores = (rs: string[][]) => rs.flatMap((r) => [Number(r[0]), Number(r[1])]);
    expect(compare('scores', scores(rb), scores(ra), TOL).maxRel).toBeLessThan(TOL);
    const margins = (rs: string[][]) => rs.map((r) => Number(r[0]) - Number(r[1]));
    expect(margins(rb).map(Math.sign)).toEqual(margins(ra).map(Math.sign));
  }, 120_000);
});
