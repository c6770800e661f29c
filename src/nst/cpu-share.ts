/**
 * How much CPU other processes are using, so split Gatys can tell whether the second core is really free.
 *
 * Why: the two bands run in lockstep, so when other work occupies a core both band threads share what is left
 * and an iteration costs the bands' combined work (2 × ~72 % of the image, the halo is computed twice) instead
 * of one band's. With `o` cores busy elsewhere on 2 cores, the split takes ~0.72·2/(2 − o) of the single-thread
 * time, so it wins only while o < ~0.5. Measured on the shared dev box: 3.4 s per VGG-19 iteration split vs
 * 4.4 s single when quiet, but 5.5–7.5 s split vs 4.4–4.5 s single while other test suites ran.
 *
 * Linux only (/proc/stat); elsewhere `sample` returns undefined and the caller keeps its default.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

interface Snapshot {
  /** Busy and total jiffies of all cores (from /proc/stat's aggregate line). */
  busy: number;
  total: number;
  /** This process's CPU microseconds (all threads). */
  ownMicros: number;
}

function snapshot(): Snapshot | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return undefined;
    // user nice system idle iowait irq softirq steal ...: idle and iowait are the idle time.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const u = process.cpuUsage();
    return { busy: total - idle, total, ownMicros: u.user + u.system };
  } catch {
    return undefined;
  }
}

export class OtherLoad {
  private last = snapshot();
  private readonly cores = availableParallelism();

  /** Cores' worth of CPU used by other processes since the previous sample (undefined if unknown). */
  sample(): number | undefined {
    const now = snapshot();
    const prev = this.last;
    this.last = now;
    if (!now || !prev || now.total <= prev.total) return undefined;
    const fractionBusy = (now.busy - prev.busy) / (now.total - prev.total);
    // /proc/stat's total counts every core, so busy·cores is cores in use; our own share is CPU time / wall time.
    const wallMicros = ((now.total - prev.total) / this.cores) * (1e6 / 100);
    const ours = (now.ownMicros - prev.ownMicros) / wallMicros;
    return Math.max(0, fractionBusy * this.cores - ours);
  }
}
