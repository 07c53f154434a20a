import { readManifest } from './manifest.js';
import { readGroupShard, readTokenShard } from './shards.js';
import { loadTokenizer } from './tokenizer.js';

/** A human-readable summary of a cache: counts, settings, skipped lines, and the first groups (or triples) as tokens. */
export async function inspect(cacheDir: string, rows: number): Promise<string> {
  const m = await readManifest(cacheDir);
  const tok = await loadTokenizer(m.inputs.vocab.path);
  const out: string[] = [
    `cache ${cacheDir} (${m.created}, ${m.seconds.toFixed(1)} s)`,
    m.inputs.groups
      ? `groups ${m.groups.rows} of 1 + ${m.groups.size - 1} passages in ${m.groups.shards.length} shards, ${m.inputs.groups.source} from ${Object.values(m.inputs.groups.files).map((f) => f.path).join(', ')}`
      : `triples ${m.groups.rows} in ${m.groups.shards.length} shards, ${m.inputs.triples_format} from ${m.inputs.triples?.path}, teacher: ${m.has_teacher}`,
    `queries ${m.queries.rows} (${m.queries.tokens} tokens, ${m.queries.truncated} cut to ${m.inputs.query_max_length})`,
    `passages ${m.passages.rows} (${m.passages.tokens} tokens, ${m.passages.truncated} cut to ${m.inputs.passage_max_length})`,
    `skipped: ${Object.entries(m.skipped).map(([k, v]) => `${k} ${v.count}`).join(', ')}`,
  ];
  for (const [k, v] of Object.entries(m.skipped)) for (const e of v.examples.slice(0, 3)) out.push(`  ${k}: ${e.reason}`);
  if (rows > 0 && m.groups.shards.length > 0) {
    // Rows of the first group shard point anywhere in the token tables: load the shards they need.
    const t = await readGroupShard(cacheDir, m.groups.shards[0]);
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
    const g = t.group;
    for (let i = 0; i < Math.min(rows, t.rows); i++) {
      out.push(`#${i} teacher ${Array.from(t.score.subarray(i * g, (i + 1) * g)).join(' / ')}`);
      out.push(`  q:   ${await text(m.queries, t.q[i])}`);
      for (let j = 0; j < g; j++) out.push(`  ${j === 0 ? 'pos' : 'neg'}: ${await text(m.passages, t.p[i * g + j])}`);
    }
  }
  return `${out.join('\n')}\n`;
}
