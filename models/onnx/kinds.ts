/** What `model export-onnx` writes: a BERT_Dot student or a BERT_Cat teacher (a plain constant for the CLI's flags). */
export type OnnxKind = 'bert-dot' | 'bert-cat';
export const ONNX_KINDS: readonly OnnxKind[] = ['bert-dot', 'bert-cat'];
