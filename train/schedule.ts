export interface ScheduleOptions {
  lr: number;
  schedule: 'constant' | 'cosine';
  warmup_steps: number;
  /** Cosine only: the step where the rate reaches `min_lr_ratio · lr`; needed when schedule is cosine. */
  total_steps?: number;
  min_lr_ratio: number;
}

/**
 * Learning rate for optimizer step `step` (1-based, as torch's LambdaLR after `step` scheduler steps):
 * linear warmup from lr/warmup to lr over `warmup_steps`, then constant, or cosine decay to
 * `min_lr_ratio · lr` at `total_steps` (as transformers' get_cosine_schedule_with_warmup, with a floor).
 */
export function lrAt(step: number, o: ScheduleOptions): number {
  if (o.warmup_steps > 0 && step <= o.warmup_steps) return (o.lr * step) / o.warmup_steps;
  if (o.schedule === 'constant') return o.lr;
  if (!o.total_steps) throw new Error('cosine schedule needs total_steps (train.max_steps)');
  const span = Math.max(o.total_steps - o.warmup_steps, 1);
  const progress = Math.min(Math.max(step - o.warmup_steps, 0) / span, 1);
  const cos = 0.5 * (1 + Math.cos(Math.PI * progress));
  return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * cos);
}
