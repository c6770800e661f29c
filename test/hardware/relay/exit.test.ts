/**
 * Issue 10 item 5: the door must not be left unlocked when the process dies or is signalled.
 * - kill -9 of a process that owns the relay, mid-pulse, for every driver: the pulse's unit drives the relay locked
 *   at once (not at the pulse's end) and, for gpiod, leaves the line free so a restart can take it. Before, libgpiod
 *   v2's `gpioset -i` holder ignored end of input and kept the line unlocked, and the restart failed with EBUSY.
 * - a leftover `gpioset` holding our line (an older facegate's orphan) is ended at start-up; other lines are not.
 * - SIGHUP reloads and leaves the relay alone; every other terminating signal drives the relay locked first.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { signalExitCode } from '../../../src/daemon/lifecycle.ts';
import { DoorLock } from '../../../src/door/door-lock.ts';
import { createRelayDriver, type RelayDriverOptions } from '../../../src/hardware/relay/create.ts';
import type { RelayState } from '../../../src/hardware/relay/relay.ts';
import { processGone } from '../../../src/hardware/relay/stale-holders.ts';
import { CHIP, FakeSysfs, lineHeld, lineLog, writeFakeGpioset } from '../../helpers/fake-gpio.ts';
import { repoRoot } from '../../helpers/shared.ts';

/** A child that ignores a signal (Node's SIGUSR1 opens the inspector) must fail the test, not hang the run. */
const CHILD_TEST = { timeout: 60_000 };

const work = mkdtempSync(path.join(tmpdir(), 'facegate-relay-exit-'));
after(() => rmSync(work, { recursive: true, force: true }));

const childScript = path.join(work, 'relay-owner.mts');
writeFileSync(
  childScript,
  `import { installExitGuards } from ${JSON.stringify(path.join(repoRoot, 'src/daemon/lifecycle.ts'))};
import { DoorLock } from ${JSON.stringify(path.join(repoRoot, 'src/door/door-lock.ts'))};
import { createRelayDriver } from ${JSON.stringify(path.join(repoRoot, 'src/hardware/relay/create.ts'))};
import { FakeSysfs } from ${JSON.stringify(path.join(repoRoot, 'test/helpers/fake-gpio.ts'))};
const [spec, pulseMs, extra] = process.argv.slice(2);
const opts = JSON.parse(extra);
const gpioFactory = opts.sysfsRoot ? new FakeSysfs(opts.sysfsRoot).factory : undefined;
const lock = new DoorLock(createRelayDriver(spec, { ...opts, gpioFactory }), { unlockPulseMs: Number(pulseMs) });
installExitGuards(lock, process, { onReload: () => void process.stdout.write('reloaded\\n') });
await lock.start();
await lock.pulse('test');
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
`,
);

interface Owner {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Spawns a process owning the relay `spec`, with a pulse of `pulseMs` running once it says ready. */
async function startOwner(
  spec: string,
  pulseMs: number,
  opts: Pick<RelayDriverOptions, 'gpiosetCommand' | 'sysfsRoot'>,
  t: { after: (fn: () => void) => void },
): Promise<Owner> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, spec, String(pulseMs), JSON.stringify(opts)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await until('the owner to be ready', () => {
    if (child.exitCode !== null) throw new Error(`owner exited early: ${out}`);
    return out.includes('ready');
  });
  return { child, exited, output: () => out };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recordedStates(file: string): RelayState[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { state: RelayState }).state);
}

/** A relay kind as the owner child and the test see it. */
interface Rig {
  spec: string;
  opts: Pick<RelayDriverOptions, 'gpiosetCommand' | 'sysfsRoot'>;
  state(): RelayState | null;
  /** Extra checks once locked (gpiod: nothing holds the line any more). */
  released(): boolean;
  driverOpts(): RelayDriverOptions;
}

function rig(kind: string, dir: string): Rig {
  mkdirSync(dir, { recursive: true });
  if (kind === 'simulated') {
    const file = path.join(dir, 'relay.jsonl');
    return {
      spec: `simulated:${file}`,
      opts: {},
      state: () => recordedStates(file).at(-1) ?? null,
      released: () => true,
      driverOpts: () => ({}),
    };
  }
  if (kind === 'onoff') {
    const sysfs = new FakeSysfs(dir);
    return {
      spec: 'onoff:529',
      opts: { sysfsRoot: dir },
      state: () => (existsSync(sysfs.valueFile(529)) && sysfs.value(529) === '1' ? 'unlocked' : 'locked'),
      released: () => true,
      driverOpts: () => ({ sysfsRoot: dir, gpioFactory: sysfs.factory }),
    };
  }
  const version = kind === 'gpiod v1' ? 1 : 2;
  const gpiosetCommand = writeFakeGpioset(dir, version);
  return {
    spec: `gpiod:${CHIP}:17`,
    opts: { gpiosetCommand },
    state: () => {
      const last = lineLog(dir, CHIP, 17).at(-1);
      return last ? (last.value === 1 ? 'unlocked' : 'locked') : null;
    },
    released: () => !lineHeld(dir, CHIP, 17),
    driverOpts: () => ({ gpiosetCommand }),
  };
}

describe('kill -9 of the process that owns the relay, during a pulse', () => {
  for (const kind of ['simulated', 'onoff', 'gpiod v1', 'gpiod v2']) {
    test(
      `${kind}: the relay is locked at once (not at the pulse's end) and a restart takes it`,
      CHILD_TEST,
      async (t) => {
        const hw = rig(kind, path.join(work, `kill9-${kind.replace(/\W/g, '-')}`));
        const owner = await startOwner(hw.spec, 60_000, hw.opts, t);
        await until('the unlock', () => hw.state() === 'unlocked');
        owner.child.kill('SIGKILL');
        await owner.exited;
        // The 60 s pulse is far from over: only the unit's reaction to our death can lock this soon.
        await until('the relay to lock after the kill', () => hw.state() === 'locked' && hw.released(), 5000);

        const restarted = new DoorLock(createRelayDriver(hw.spec, hw.driverOpts()), { unlockPulseMs: 200 });
        t.after(() => restarted.failNowSync());
        await restarted.start();
        assert.equal(restarted.state, 'locked');
        assert.equal(hw.state(), 'locked');
        await restarted.stop();
      },
    );
  }
});

describe('start-up clean-up of a leftover gpioset holding our line', () => {
  test('an orphaned v2 `gpioset -i` holding the line unlocked is ended; gpiosets on other lines are left alone', async (t) => {
    const dir = path.join(work, 'stale');
    const gpioset = writeFakeGpioset(dir, 2);
    const spawnHolder = (line: number) => {
      // What an older facegate left behind: interactive mode, end of input ignored, parent gone.
      const holder = spawn(gpioset, ['-i', '-c', CHIP, `${line}=1`], { detached: true, stdio: 'ignore' });
      holder.unref();
      t.after(() => {
        try {
          process.kill(holder.pid ?? 0, 'SIGKILL');
        } catch {
          // ended by the driver
        }
      });
      return holder;
    };
    const stale = spawnHolder(17);
    const neighbour = spawnHolder(18);
    await until('the leftovers to hold their lines', () => lineHeld(dir, CHIP, 17) && lineHeld(dir, CHIP, 18));

    const lock = new DoorLock(createRelayDriver(`gpiod:${CHIP}:17`, { gpiosetCommand: gpioset }), {});
    t.after(() => lock.failNowSync());
    await lock.start();
    // (A fake gpioset is a shell script: it may log its request after the driver's 150 ms start check.)
    await until('line 17 driven locked', () => lineLog(dir, CHIP, 17).at(-1)?.value === 0, 3000);
    assert.ok(processGone(stale.pid ?? 0), 'the stale holder is gone');
    assert.ok(existsSync(`/proc/${neighbour.pid}`), 'the holder of line 18 is not ours to end');
    assert.ok(lineHeld(dir, CHIP, 18));
    await lock.stop();
  });
});

describe('signals to a process that owns the relay (simulated relay recording to a file)', () => {
  test(
    'SIGHUP reloads: the process stays up, the relay is left alone and the pulse still ends on time',
    CHILD_TEST,
    async (t) => {
      const file = path.join(work, 'hup.jsonl');
      const owner = await startOwner(`simulated:${file}`, 1500, {}, t);
      owner.child.kill('SIGHUP');
      await until('the reload', () => owner.output().includes('reloaded'));
      assert.equal(owner.child.exitCode, null, 'still running');
      assert.deepEqual(recordedStates(file), ['locked', 'unlocked']);
      await until('the pulse to end', () => recordedStates(file).at(-1) === 'locked');
      owner.child.kill('SIGTERM');
      assert.deepEqual(await owner.exited, { code: 0, signal: null });
      assert.deepEqual(recordedStates(file), ['locked', 'unlocked', 'locked']);
    },
  );

  for (const signal of ['SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGPWR'] as const) {
    test(
      `${signal} during a pulse: the relay is locked before the process exits ${signalExitCode(signal)}`,
      CHILD_TEST,
      async (t) => {
        const file = path.join(work, `${signal}.jsonl`);
        const owner = await startOwner(`simulated:${file}`, 60_000, {}, t);
        owner.child.kill(signal);
        const exit = await owner.exited;
        assert.deepEqual(exit, { code: signalExitCode(signal), signal: null }, owner.output());
        assert.deepEqual(recordedStates(file), ['locked', 'unlocked', 'locked']);
      },
    );
  }
});
