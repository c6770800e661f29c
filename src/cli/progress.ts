/**
 * Progress of a long optimisation (Gatys: seconds per iteration, minutes in all): one line per iteration with the
 * cost, seconds per iteration and the time left, as plain lines (logs, pipes) or one redrawn bar on a terminal.
 */

export interface IterationSample {
  iteration: number;
  total: number;
  /** The total cost after this iteration. */
  J: number;
}

export interface IterationRate {
  secondsPerIteration: number;
  etaSeconds: number;
}

/** Seconds per iteration averaged since the first one (whose time includes set-up, so it is left out). */
export class IterationMeter {
  private readonly started: number;
  private first: { iteration: number; at: number } | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.started = now();
  }

  tick(iteration: number, total: number): IterationRate {
    const at = this.now();
    let seconds: number;
    if (!this.first || iteration <= this.first.iteration) {
      this.first = { iteration, at };
      seconds = (at - this.started) / 1000 / Math.max(1, iteration);
    } else {
      seconds = (at - this.first.at) / 1000 / (iteration - this.first.iteration);
    }
    return { secondsPerIteration: seconds, etaSeconds: seconds * Math.max(0, total - iteration) };
  }
}

/** 75 → "1m15s", 3725 → "1h02m", 9 → "9s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function stats(p: IterationSample, rate: IterationRate): string {
  const perIt =
    rate.secondsPerIteration < 10 ? rate.secondsPerIteration.toFixed(2) : rate.secondsPerIteration.toFixed(1);
  return `cost ${p.J.toExponential(4)}  ${perIt} s/it  ETA ${formatDuration(rate.etaSeconds)}`;
}

/** The plain line: "iteration 12/200  cost 1.2345e+5  3.41 s/it  ETA 10m41s". */
export function iterationLine(p: IterationSample, rate: IterationRate): string {
  return `iteration ${p.iteration}/${p.total}  ${stats(p, rate)}`;
}

/** The terminal bar, redrawn in place: "[#####.....] 12/200  cost …  3.41 s/it  ETA 10m41s". */
export function iterationBar(p: IterationSample, rate: IterationRate, width = 30): string {
  const done = Math.min(width, Math.round((p.iteration / Math.max(1, p.total)) * width));
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.iteration}/${p.total}  ${stats(p, rate)}`;
}
