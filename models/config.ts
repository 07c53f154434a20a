import { z } from 'zod';

const size = (what: string) => z.number().int().positive().optional().describe(what);

/**
 * The `model` section of the config tree (see pipelines/config.ts): the BERT_Dot student.
 *
 * `init` names a HuggingFace DistilBERT folder (config.json + model.safetensors or pytorch_model.bin; e.g.
 * distilbert-base-uncased, the paper's start) whose weights and sizes the student takes. With `init: null` the
 * student is random (HF init, seeded by run.seed) with the size fields below; a size left out is distilbert-base's
 * (DISTILBERT_BASE in models/distilbert.ts: 6 layers, dim 768, 12 heads, FFN 3072, vocab 30522, 512
 * positions). They are optional rather than defaulted so a caller with its own base sizes (the quickstart's
 * tiny student) can lay the section over them; the size fields are ignored when `init` is set.
 */
export const ModelConfig = z.strictObject({
  init: z.string().min(1).nullable().default(null),
  dim: size('hidden size (distilbert-base: 768)'),
  n_layers: size('transformer blocks (6)'),
  n_heads: size('attention heads; must divide dim (12)'),
  hidden_dim: size('feed-forward size (3072)'),
  vocab_size: size('vocabulary rows; at least the vocab.txt lines (30522)'),
  max_position_embeddings: size('longest input in tokens (512)'),
});
export type ModelConfig = z.output<typeof ModelConfig>;
