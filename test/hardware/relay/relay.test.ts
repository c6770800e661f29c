import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { EventBus } from '../../../src/bus/event-bus.ts';
import { type GuardedProcess, installExitGuards, signalExitCode } from '../../../src/daemon/lifecycle.ts';
import { DoorLock } from '../../../src/door/door-lock.ts';
import { createRelayDriver } from '../../../src/hardware/relay/create.ts';
import { gpiosetArgs } from '../../../src/hardware/relay/gpiod-relay.ts';
import type { RelayDriver, RelayState } from '../../../src/hardware/relay/relay.ts';
import { SimulatedRelay } from '../../../src/hardware/relay/simulated-relay.ts';
import { FacegateError } from '../../../src/util/errors.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';
import { CHIP, FakeSysfs, lineHeld, lineLog, writeFakeGpioset } from '../../helpers/fake-gpio.ts';
import { repoRoot } from '../../helpers/shared.ts';

const work = mkdtempSync(path.join(tmpdir(), 'facegate-relay-'));
after(() => rmSync(work, { recursive: true, force: true }));

function recorded(file: string): Array<{ t: number; state: RelayState }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

class FlakyRelay implements RelayDriver {
  readonly description = 'flaky';
  failures = 0;
  states: RelayState[] = [];
  async init() {}
  async set(state: RelayState) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('i2c timeout');
    }
    this.states.push(state);
    return null;
  }
  async pulse(_ms: number) {
    return this.set('unlocked');
  }
  setSync(state: RelayState) {
    this.states.push(state);
  }
  async close() {}
}

describe('relay drivers', () => {
  test('simulated driver appends one JSON line per change', async () => {
    const file = path.join(work, 'sim.jsonl');
    const driver = createRelayDriver(`simulated:${file}`);
    assert.ok(driver instanceof SimulatedRelay);
    await driver.init();
    await driver.set('locked');
    await driver.set('locked');
    await driver.set('unlocked');
    driver.setSync('locked');
    const lines = recorded(file);
    assert.deepEqual(
      lines.map((l) => l.state),
      ['locked', 'unlocked', 'locked'],
    );
    assert.ok(lines.every((l) => typeof l.t === 'number' && l.t > 1e12));
  });

  test('bad specs are one-line config errors (exit 78)', () => {
    for (const spec of ['relay9', 'onoff:abc', 'gpiod:gpiochip0', 'gpiod::17', 'gpiod:gpiochip0:x']) {
      assert.throws(
        () => createRelayDriver(spec),
        (err: unknown) => err instanceof FacegateError && err.exitCode === 78 && !err.message.includes('\n'),
        spec,
      );
    }
  });

  test('onoff driver either opens or says to use gpiod', async () => {
    const driver = createRelayDriver('onoff:529');
    await assert.rejects(driver.init(), (err: unknown) => err instanceof FacegateError && /gpiod/.test(err.message));
  });

  test('onoff driver on a fake sysfs tree: a pulse running at close ends locked; exit paths still drive after close', async (t) => {
    const sysfs = new FakeSysfs(path.join(work, 'sysfs'));
    const driver = createRelayDriver('onoff:529', { gpioFactory: sysfs.factory, sysfsRoot: sysfs.root });
    t.after(() => driver.setSync('locked'));
    await driver.init();
    await driver.set('locked');
    await driver.pulse(60_000);
    assert.equal(sysfs.value(529), '1');
    await driver.close();
    assert.equal(sysfs.value(529), '0', 'close during a pulse leaves the pin locked');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sysfs.value(529), '0', 'and no unit drives it afterwards');
    const writes = sysfs.writes.length;
    driver.setSync('locked'); // what the process 'exit' guard does after a shutdown
    assert.deepEqual(sysfs.writes.slice(writes), [{ gpio: 529, value: 0, sync: true }]);
  });

  test('gpioset argv for libgpiod v1 and v2', () => {
    const call = { chip: 'gpiochip0', line: 17, activeLow: false } as const;
    assert.deepEqual(gpiosetArgs({ ...call, mode: 'hold', version: 1, value: 0, activeLow: true }), [
      '--mode=signal',
      '--active-low',
      'gpiochip0',
      '17=0',
    ]);
    assert.deepEqual(gpiosetArgs({ ...call, mode: 'once', version: 1, value: 0 }), [
      '--mode=exit',
      'gpiochip0',
      '17=0',
    ]);
    assert.deepEqual(gpiosetArgs({ ...call, mode: 'timed', version: 1, value: 1, ms: 3250 }), [
      '--mode=time',
      '--sec=3',
      '--usec=250000',
      'gpiochip0',
      '17=1',
    ]);
    // v2: no -i (it ignores end of input); -t <ms>,0 toggles back after <ms> and exits; -t0 sets and exits.
    assert.deepEqual(gpiosetArgs({ ...call, mode: 'hold', version: 2, value: 1 }), ['-c', 'gpiochip0', '17=1']);
    assert.deepEqual(gpiosetArgs({ ...call, mode: 'once', version: 2, value: 0 }), ['-t0', '-c', 'gpiochip0', '17=0']);
    assert.deepEqual(gpiosetArgs({ ...call, mode: 'timed', version: 2, value: 1, ms: 3000 }), [
      '-t',
      '3000,0',
      '-c',
      'gpiochip0',
      '17=1',
    ]);
  });

  for (const version of [1, 2] as const) {
    test(`gpiod driver through a fake gpioset v${version}: holds locked, pulses, re-locks, releases on close`, async (t) => {
      const dir = path.join(work, `gpiod-v${version}`);
      const driver = createRelayDriver(`gpiod:${CHIP}:17`, { gpiosetCommand: writeFakeGpioset(dir, version) });
      t.after(() => driver.setSync('locked'));
      await driver.init();
      await driver.set('locked');
      assert.ok(lineHeld(dir, CHIP, 17), 'the line is held while locked');
      await driver.pulse(200);
      let log = lineLog(dir, CHIP, 17);
      const relocked = () => log.some((c, i) => c.value === 1 && log.slice(i + 1).some((d) => d.value === 0));
      for (let i = 0; i < 250 && !relocked(); i++) {
        await new Promise((r) => setTimeout(r, 20));
        log = lineLog(dir, CHIP, 17);
      }
      const relockedAt = await driver.set('locked', { pulseDue: true });
      assert.equal(typeof relockedAt, 'number', 'the unit re-locked by itself and said when');
      log = lineLog(dir, CHIP, 17);
      const unlock = log.findIndex((c) => c.value === 1);
      assert.ok(unlock > 0, JSON.stringify(log));
      assert.equal(log[unlock + 1]?.value, 0, 'locked after the pulse');
      assert.ok(log[unlock + 1]!.t - log[unlock]!.t >= 195, `held ${log[unlock + 1]!.t - log[unlock]!.t} ms`);
      await driver.close();
      assert.equal(lineLog(dir, CHIP, 17).at(-1)?.value, 0);
      assert.equal(lineHeld(dir, CHIP, 17), false, 'released on close');
    });
  }
});

/** A process whose signal handlers the test calls itself, recording exit codes. */
function fakeProcess() {
  const handlers = new Map<string, (arg?: unknown) => void>();
  const exits: number[] = [];
  const proc: GuardedProcess = {
    on: (event, fn) => handlers.set(event, fn as (arg?: unknown) => void),
    off: (event) => handlers.delete(event),
    exit: (code) => {
      exits.push(code ?? 0);
      return undefined;
    },
  };
  return { handlers, exits, proc };
}

describe('DoorLock', () => {
  test('start drives LOCKED, pulse unlocks and re-locks exactly at unlockPulseMs', async () => {
    const clock = new FakeClock();
    const bus = new EventBus();
    const events: RelayState[] = [];
    bus.on('relay', (e) => events.push(e.state));
    const driver = new SimulatedRelay(null);
    const lock = new DoorLock(driver, { unlockPulseMs: 3000, clock, bus });
    await lock.start();
    assert.equal(driver.state, 'locked');
    await lock.pulse('granted');
    assert.equal(driver.state, 'unlocked');
    assert.equal(lock.pulseEndsAtMs, clock.now() + 3000);
    await clock.advanceAsync(2999);
    assert.equal(driver.state, 'unlocked');
    await clock.advanceAsync(1);
    assert.equal(driver.state, 'locked');
    assert.equal(lock.state, 'locked');
    assert.deepEqual(events, ['locked', 'unlocked', 'locked']);
  });

  test("a pulse during a pulse restarts the driver's pulse from now, one unlock and one re-lock reported", async () => {
    const clock = new FakeClock();
    const bus = new EventBus();
    const events: RelayState[] = [];
    bus.on('relay', (e) => events.push(e.state));
    const driver = new FlakyRelay();
    const lock = new DoorLock(driver, { unlockPulseMs: 3000, clock, bus });
    await lock.start();
    await lock.pulse('a');
    await clock.advanceAsync(2000);
    await lock.pulse('b');
    await clock.advanceAsync(2999);
    assert.equal(lock.state, 'unlocked');
    await clock.advanceAsync(1);
    assert.deepEqual(driver.states, ['locked', 'unlocked', 'unlocked', 'locked']);
    assert.deepEqual(events, ['locked', 'unlocked', 'locked']);
  });

  test('lockNow ends a pulse; a failing re-lock is alarmed and retried', async () => {
    const clock = new FakeClock();
    const bus = new EventBus();
    const alarms: string[] = [];
    bus.on('alarm', (a) => alarms.push(a.kind));
    const driver = new FlakyRelay();
    const lock = new DoorLock(driver, { unlockPulseMs: 3000, clock, bus });
    await lock.start();
    await lock.pulse('a');
    await lock.lockNow();
    assert.equal(lock.state, 'locked');
    await lock.pulse('b');
    driver.failures = 2;
    await clock.advanceAsync(3000);
    assert.equal(lock.state, 'unlocked');
    assert.deepEqual(alarms, ['relay-error']);
    await clock.advanceAsync(2000);
    assert.equal(lock.state, 'locked');
    assert.deepEqual(alarms, ['relay-error', 'relay-error']);
  });

  test('fail-safe warns at start and unlocks on stop; fail-secure locks', async () => {
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg), info() {}, error() {}, debug() {} };
    const failSafe = new SimulatedRelay(null);
    const safeLock = new DoorLock(failSafe, { failSafe: true, logger: logger as never });
    await safeLock.start();
    assert.equal(failSafe.state, 'locked');
    assert.match(warnings.join('\n'), /FAIL-SAFE/);
    await safeLock.stop();
    assert.equal(failSafe.state, 'unlocked');

    const secure = new SimulatedRelay(null);
    const secureLock = new DoorLock(secure, {});
    await secureLock.start();
    await secureLock.pulse('x');
    await secureLock.stop();
    assert.equal(secure.state, 'locked');
  });

  test('exit guards on a fake process: signal hands over to onSignal after locking; crash exits non-zero', async () => {
    const { handlers, exits, proc } = fakeProcess();
    const driver = new SimulatedRelay(null);
    const lock = new DoorLock(driver, {});
    await lock.start();
    await lock.pulse('x');
    const seen: string[] = [];
    const remove = installExitGuards(lock, proc, { onSignal: (signal) => void seen.push(`${signal}:${driver.state}`) });
    handlers.get('SIGTERM')?.();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['SIGTERM:locked']);
    assert.deepEqual(exits, []);
    await lock.pulse('after-shutdown');
    assert.equal(driver.state, 'locked', 'no pulse once shutting down');
    handlers.get('uncaughtException')?.(new Error('boom'));
    assert.deepEqual(exits, [2]);
    remove();
    assert.equal(handlers.size, 0);
  });

  test('exit guards: SIGHUP reloads and leaves the relay alone; every other terminating signal locks first', async () => {
    const { handlers, exits, proc } = fakeProcess();
    for (const signal of ['SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGABRT', 'SIGPWR'] as const) {
      assert.ok(handlers.size === 0);
      const driver = new SimulatedRelay(null);
      const lock = new DoorLock(driver, {});
      await lock.start();
      await lock.pulse('x');
      let reloads = 0;
      const seen: string[] = [];
      const remove = installExitGuards(lock, proc, {
        onReload: () => void reloads++,
        onSignal: (s) => void seen.push(`${s}:${driver.state}`),
      });
      handlers.get('SIGHUP')?.();
      await new Promise((r) => setImmediate(r));
      assert.equal(reloads, 1);
      assert.equal(driver.state, 'unlocked', 'a reload does not touch the pulse');
      assert.ok(handlers.has(signal), `${signal} is guarded`);
      handlers.get(signal)?.();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(seen, [`${signal}:locked`]);
      assert.deepEqual(exits, []);
      remove();
    }
    assert.equal(signalExitCode('SIGTERM'), 0);
    assert.equal(signalExitCode('SIGQUIT'), 131);
    assert.equal(signalExitCode('SIGUSR2'), 140);
  });
});

const childScript = path.join(work, 'guarded-child.mts');
writeFileSync(
  childScript,
  `import { installExitGuards } from ${JSON.stringify(path.join(repoRoot, 'src/daemon/lifecycle.ts'))};
import { DoorLock } from ${JSON.stringify(path.join(repoRoot, 'src/door/door-lock.ts'))};
import { createRelayDriver } from ${JSON.stringify(path.join(repoRoot, 'src/hardware/relay/create.ts'))};
const [file, mode] = process.argv.slice(2);
const lock = new DoorLock(createRelayDriver('simulated:' + file), { unlockPulseMs: 60_000, failSafe: mode === 'failsafe' });
installExitGuards(lock, process);
await lock.start();
await lock.pulse('test');
if (mode === 'crash') setTimeout(() => { throw new Error('injected crash'); }, 100);
if (mode === 'reject') setTimeout(() => { Promise.reject(new Error('injected rejection')); }, 100);
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
`,
);

async function runChild(mode: string, signal: NodeJS.Signals | null): Promise<{ code: number | null; file: string }> {
  const file = path.join(work, `child-${mode}-${signal}.jsonl`);
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, file, mode], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  if (signal) {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
      child.on('exit', () => reject(new Error(`child exited before ready: ${stderr}`)));
    });
    assert.equal(recorded(file).at(-1)?.state, 'unlocked', 'pulse running before the signal');
    child.kill(signal);
  }
  return { code: await exited, file };
}

describe('exit paths of a real process (simulated relay recording to a file)', () => {
  test('SIGTERM during a pulse: last line locked, exit 0', async () => {
    const { code, file } = await runChild('normal', 'SIGTERM');
    assert.equal(code, 0);
    assert.equal(recorded(file).at(-1)?.state, 'locked');
  });

  test('SIGINT during a pulse: last line locked, exit 0', async () => {
    const { code, file } = await runChild('normal', 'SIGINT');
    assert.equal(code, 0);
    assert.equal(recorded(file).at(-1)?.state, 'locked');
  });

  test('injected crash (throw in a timer) during a pulse: last line locked, non-zero exit', async () => {
    const { code, file } = await runChild('crash', null);
    assert.notEqual(code, 0);
    assert.deepEqual(
      recorded(file).map((l) => l.state),
      ['locked', 'unlocked', 'locked'],
    );
  });

  test('injected unhandled rejection: last line locked, non-zero exit', async () => {
    const { code, file } = await runChild('reject', null);
    assert.notEqual(code, 0);
    assert.equal(recorded(file).at(-1)?.state, 'locked');
  });

  test('fail-safe: SIGTERM leaves the relay unlocked', async () => {
    const { code, file } = await runChild('failsafe', 'SIGTERM');
    assert.equal(code, 0);
    assert.equal(recorded(file).at(-1)?.state, 'unlocked');
  });
});
