import { readManifest } from './manifest.js';
import { readTokenShard, readTripleShard } from './shards.js';
import { loadTokenizer } from './tokenizer.js';

/** A human-readable summary of a cache: counts, settings, skipped lines, and the first triples as tokens. */
export async function inspect(cacheDir: string, rows: number): Promise<string> {
  const m = await readManifest(cacheDir);
  const tok = await loadTokenizer(m.inputs.vocab.path);
  const out: string[] = [
    `cache ${cacheDir} (${m.created}, ${m.seconds.toFixed(1)} s)`,
    `triples ${m.triples.rows} in ${m.triples.shards.length} shards, ${m.inputs.triples_format} from ${m.inputs.triples.path}, teacher: ${m.has_teacher}`,
    `queries ${m.queries.rows} (${m.queries.tokens} tokens, ${m.queries.truncated} cut to ${m.inputs.query_max_length})`,
    `passages ${m.passages.rows} (${m.passages.tokens} tokens, ${m.passages.truncated} cut to ${m.inputs.passage_max_length})`,
    `skipped: ${Object.entries(m.skipped).map(([k, v]) => `${k} ${v.count}`).join(', ')}`,
  ];
  for (const [k, v] of Object.entries(m.skipped)) for (const e of v.examples.slice(0, 3)) out.push(`  ${k}: ${e.reason}`);
  if (rows > 0 && m.triples.shards.length > 0) {
    // Rows of the first triple shard point anywhere in the token tables: load the shards they need.
    const t = await readTripleShard(cacheDir, m.triples.shards[0]);
    const text = async (part: typeof m.queries, row: number) => {
      let base = 0;
      for (const s of part.shards) {
        if (row < base + s.rows) {
          const table = await readTokenShard(cacheDir, s);
          const i = row - base;
          return Array.from(table.values.subarray(table.offsets[i], table.offsets[i + 1]), (id) => tok.idToToken(id)).join(' ');
        }
        base += s.rows;
      }
      return '?';
    };
    for (let i = 0; i < Math.min(rows, t.rows); i++) {
      out.push(`#${i} teacher ${t.posScore[i]} / ${t.negScore[i]}`);
      out.push(`  q:   ${await text(m.queries, t.q[i])}`);
      out.push(`  pos: ${await text(m.passages, t.pos[i])}`);
      out.push(`  neg: ${await text(m.passages, t.neg[i])}`);
    }
  }
  return `${out.join('\n')}\n`;
}
