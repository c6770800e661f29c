/**
 * Fake GPIO hardware for the relay tests.
 * - `writeFakeGpioset(dir, version)`: a `gpioset` script that behaves like libgpiod v1 or v2's for the modes facegate
 *   uses. The line is "requested" by taking an flock on `<dir>/<chip>-<line>.lock` (released when the process dies,
 *   like the kernel releases a line), a second request fails with EBUSY, and every drive appends `<epoch ms> <value>`
 *   to `<dir>/<chip>-<line>.log`. A released line keeps its last value. v2's `-i` ignores end of input (upstream
 *   spins on it; the fake sleeps) and ends only on `exit` or a signal, as the orphaned holder of issue 10 did.
 * - `FakeSysfs`: a sysfs GPIO tree in a directory plus an onoff-like Gpio factory writing its `value` file.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OnoffGpio, OnoffGpioFactory } from '../../src/hardware/relay/onoff-relay.ts';

/**
 * The fake chip's name: one per test process, so test runs in parallel on one machine never see each other's relay
 * processes as stale holders of their line (the start-up clean-up matches chip and line).
 */
export const CHIP = `fakechip${process.pid}`;

const COMMON = `L="$D/$chip-$line"
exec 9>>"$L.lock"
flock -n 9 || { echo "gpioset: unable to request lines on chip '/dev/$chip': Device or resource busy" >&2; exit 1; }
drive() { echo "$(date +%s%3N) $1" >> "$L.log"; }
secs() { echo "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }
drive "$val"
`;

const V1 = `mode=exit; sec=0; usec=0; chip=; lv=
for a; do
  case "$a" in
    --mode=*) mode=\${a#--mode=};;
    --sec=*) sec=\${a#--sec=};;
    --usec=*) usec=\${a#--usec=};;
    -l|--active-low) ;;
    *=*) lv=$a;;
    *) chip=$a;;
  esac
done
line=\${lv%%=*}; val=\${lv#*=}
${COMMON}case "$mode" in
  exit) exit 0;;
  wait) read -r _; exit 0;;
  time) sleep "$(secs $((sec * 1000 + usec / 1000)))"; exit 0;;
  signal) exec sleep 100000;;
esac
`;

const V2 = `chip=; toggle=; inter=; lv=
while [ $# -gt 0 ]; do
  case "$1" in
    -c|--chip) chip=$2; shift 2;;
    -t|--toggle) toggle=$2; shift 2;;
    -t*) toggle=\${1#-t}; shift;;
    -i|--interactive) inter=1; shift;;
    -l|--active-low) shift;;
    *=*) lv=$1; shift;;
    *) echo "gpioset: unknown option $1" >&2; exit 1;;
  esac
done
line=\${lv%%=*}; val=\${lv#*=}
${COMMON}if [ -n "$toggle" ]; then
  first=\${toggle%%,*}
  [ "$first" = 0 ] && exit 0
  sleep "$(secs \${first%ms})"
  drive $((1 - val))
  exit 0
fi
if [ -n "$inter" ]; then
  while :; do
    if IFS= read -r cmd; then
      case "$cmd" in exit) exit 0;; "set "*) drive "\${cmd##*=}";; esac
    else
      sleep 0.05
    fi
  done
fi
exec sleep 100000
`;

/** Writes the fake as `<dir>/gpioset-v<version>` and returns its path. */
export function writeFakeGpioset(dir: string, version: 1 | 2): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `gpioset-v${version}`);
  const banner = version === 1 ? 'v1.6.3' : 'v2.1';
  writeFileSync(
    file,
    `#!/bin/sh
D=${JSON.stringify(dir)}
if [ "$1" = "--version" ]; then echo "gpioset (libgpiod) ${banner}"; exit 0; fi
echo "$$ $*" >> "$D/calls.log"
${version === 1 ? V1 : V2}`,
  );
  chmodSync(file, 0o755);
  return file;
}

export interface LineChange {
  t: number;
  value: 0 | 1;
}

/** Every value the fake drove on the line, in order. */
export function lineLog(dir: string, chip: string, line: number): LineChange[] {
  const file = path.join(dir, `${chip}-${line}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((row) => {
      const [t, value] = row.split(' ');
      return { t: Number(t), value: Number(value) as 0 | 1 };
    });
}

/** True while some process holds the fake line. */
export function lineHeld(dir: string, chip: string, line: number): boolean {
  const lock = path.join(dir, `${chip}-${line}.lock`);
  return spawnSync('flock', ['-n', lock, 'true']).status !== 0;
}

/** A sysfs GPIO tree (`<root>/gpio<n>/value`) and an onoff-like factory that writes it. */
export class FakeSysfs {
  readonly writes: Array<{ gpio: number; value: 0 | 1; sync: boolean }> = [];

  constructor(readonly root: string) {}

  valueFile(gpio: number): string {
    return path.join(this.root, `gpio${gpio}`, 'value');
  }

  value(gpio: number): string {
    return readFileSync(this.valueFile(gpio), 'utf8').trim();
  }

  readonly factory: OnoffGpioFactory = (gpio) => {
    mkdirSync(path.dirname(this.valueFile(gpio)), { recursive: true });
    writeFileSync(this.valueFile(gpio), '0');
    const write = (value: 0 | 1, sync: boolean) => {
      this.writes.push({ gpio, value, sync });
      writeFileSync(this.valueFile(gpio), String(value));
    };
    const pin: OnoffGpio = {
      writeSync: (value) => write(value, true),
      write: async (value) => write(value, false),
    };
    return pin;
  };
}
