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
  /** Units already done before this display started (a resumed run): shown in the count, not in the rate. */
  initial?: number;
}

/** A rate over less time than this is noise (a first tick in the same millisecond gave 1e13 rows/s). */
const MIN_RATE_SECONDS = 0.5;

/**
 * A progress display for long work: a cli-progress bar with rate and ETA on a TTY, plain log lines every
 * few seconds otherwise (CI logs, files), so progress is visible in both.
 */
export function progress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'it';
  const start = Date.now();
  const initial = opts.initial ?? 0;
  let done = initial;
  let extra: Record<string, string | number> = {};
  const fmtExtra = () =>
    Object.entries(extra)
      .map(([k, v]) => `${k} ${v}`)
      .join(' | ');
  // Units per second since this display started, NaN while too little time has passed to tell; `final`: the
  // work is over, so its whole duration is the measure however short (at least a millisecond).
  const rate = (final = false) => {
    const seconds = (Date.now() - start) / 1000;
    if (!final && seconds < MIN_RATE_SECONDS) return NaN;
    return (done - initial) / Math.max(seconds, 1e-3);
  };
  const showRate = (r: number) => (Number.isFinite(r) ? r.toFixed(1) : '?');
  // No ETA until a rate is known: a rate of 0 would promise millions of hours.
  const eta = () => (opts.total && rate() > 0 ? Math.max(opts.total - done, 0) / rate() : NaN);

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
    bar.start(opts.total ?? 0, initial, { rate: '?', extra: '' });
    return {
      tick(n = 1, values) {
        done += n;
        if (values) extra = { ...extra, ...values };
        bar.update(done, { rate: showRate(rate()), extra: fmtExtra() });
      },
      stop() {
        bar.stop();
      },
    };
  }

  const every = (opts.every ?? 10) * 1000;
  // The first tick prints at once (that work has started), its rate `?` until there is time to measure it.
  let last = 0;
  const line = (final = false) => {
    const total = opts.total ? `/${opts.total}` : '';
    const etaS = eta();
    const etaText = Number.isFinite(etaS) ? ` | ETA ${formatSeconds(etaS)}` : '';
    const ex = fmtExtra();
    stream.write(`${opts.label}: ${done}${total} ${unit} | ${showRate(rate(final))} ${unit}/s${etaText}${ex ? ` | ${ex}` : ''}\n`);
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
      line(true);
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
