import cliProgress from 'cli-progress';

export interface Progress {
  /** Advances by `n` units and updates the shown values (e.g. `{ loss: '0.123' }`). */
  tick(n?: number, values?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  /** Total units, or undefined when unknown (then no ETA is shown). */
  total?: number;
  unit?: string;
  /** Plain-line mode (no TTY): seconds between lines. */
  every?: number;
  stream?: NodeJS.WriteStream;
}

/**
 * A progress display for long work: a cli-progress bar with rate and ETA on a TTY, plain log lines every
 * few seconds otherwise (CI logs, files), so progress is visible in both.
 */
export function progress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'it';
  const start = Date.now();
  let done = 0;
  let extra: Record<string, string | number> = {};
  const fmtExtra = () =>
    Object.entries(extra)
      .map(([k, v]) => `${k} ${v}`)
      .join(' | ');
  const rate = () => done / Math.max((Date.now() - start) / 1000, 1e-9);
  // No ETA until something is done: a rate of 0 would promise millions of hours.
  const eta = () => (opts.total && done > 0 ? Math.max(opts.total - done, 0) / rate() : NaN);

  if (stream.isTTY && process.env.CI !== 'true') {
    const bar = new cliProgress.SingleBar(
      {
        format: `${opts.label} [{bar}] {value}/{total} | {rate} ${unit}/s | ETA {eta_formatted} | {extra}`,
        stream,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total ?? 0, 0, { rate: '0', extra: '' });
    return {
      tick(n = 1, values) {
        done += n;
        if (values) extra = { ...extra, ...values };
        bar.update(done, { rate: rate().toFixed(1), extra: fmtExtra() });
      },
      stop() {
        bar.stop();
      },
    };
  }

  const every = (opts.every ?? 10) * 1000;
  let last = 0;
  const line = () => {
    const total = opts.total ? `/${opts.total}` : '';
    const etaS = eta();
    const etaText = Number.isFinite(etaS) ? ` | ETA ${formatSeconds(etaS)}` : '';
    const ex = fmtExtra();
    stream.write(`${opts.label}: ${done}${total} ${unit} | ${rate().toFixed(1)} ${unit}/s${etaText}${ex ? ` | ${ex}` : ''}\n`);
  };
  return {
    tick(n = 1, values) {
      done += n;
      if (values) extra = { ...extra, ...values };
      const now = Date.now();
      if (now - last >= every) {
        last = now;
        line();
      }
    },
    stop() {
      line();
    },
  };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
