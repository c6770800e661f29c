import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from '../helpers/shared.ts';

const unitFile = path.join(repoRoot, 'systemd', 'facegate.service');
const unitText = readFileSync(unitFile, 'utf8');
const displayFile = path.join(repoRoot, 'systemd', 'facegate-display.service');
const displayText = readFileSync(displayFile, 'utf8');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const needsAnalyze = { skip: hasAnalyze ? false : 'systemd-analyze not installed (Debian package systemd)' };
const work = mkdtempSync(path.join(tmpdir(), 'facegate-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

function directive(key: string, text = unitText): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/** The hardening of facegate.service (each line's reason is in the unit); dropping any one fails a test below. */
const HARDENING: Record<string, string[]> = {
  CapabilityBoundingSet: [''],
  AmbientCapabilities: [''],
  NoNewPrivileges: ['true'],
  ProtectSystem: ['strict'],
  ProtectHome: ['true'],
  PrivateTmp: ['true'],
  UMask: ['0077'],
  ProtectKernelTunables: ['true'],
  DevicePolicy: ['closed'],
  DeviceAllow: ['char-video4linux rw', 'char-gpiochip rw', 'char-input r'],
  ProtectKernelModules: ['true'],
  ProtectKernelLogs: ['true'],
  ProtectControlGroups: ['true'],
  ProtectClock: ['true'],
  ProtectHostname: ['true'],
  ProtectProc: ['invisible'],
  PrivateMounts: ['true'],
  LockPersonality: ['true'],
  RestrictSUIDSGID: ['true'],
  RestrictNamespaces: ['true'],
  RestrictRealtime: ['true'],
  RemoveIPC: ['true'],
  KeyringMode: ['private'],
  RestrictAddressFamilies: ['AF_UNIX AF_INET AF_INET6 AF_NETLINK'],
  SystemCallArchitectures: ['native'],
  SystemCallFilter: ['@system-service @pkey', '~@privileged'],
  SystemCallErrorNumber: ['EPERM'],
};

/**
 * The checks of `systemd-analyze security` this unit fails on purpose, each for a reason; any other failing check
 * (a hardening line dropped or weakened) fails the test.
 */
const ACCEPTED_GAPS: Record<string, string> = {
  'PrivateDevices=': 'the camera, GPIO and badge reader are devices (DevicePolicy=closed + DeviceAllow= instead)',
  'DeviceAllow=': 'video4linux, gpiochip and input are in the device list',
  'SupplementaryGroups=': 'video, gpio and input own those devices',
  'PrivateNetwork=': 'MQTT and the kiosk page',
  'IPAddressDeny=': 'the broker can be anywhere on the site network',
  'RestrictAddressFamilies=~AF_(INET|INET6)': 'MQTT and the kiosk page',
  'RestrictAddressFamilies=~AF_UNIX': 'the systemd notify socket',
  'RestrictAddressFamilies=~AF_NETLINK': "getaddrinfo's AI_ADDRCONFIG (Node's default lookup) asks netlink",
  'NotifyAccess=': 'READY/WATCHDOG come from the systemd-notify helper, a child',
  'MemoryDenyWriteExecute=': 'V8 and WebAssembly need JIT pages',
  'SystemCallFilter=~@resources': 'the portrait worker lowers its own thread priority (setpriority)',
  'ProcSubset=': 'the portrait scheduler reads /proc/stat',
  'PrivateUsers=': 'device access goes through supplementary groups; not verified inside a user namespace',
  'RootDirectory=/RootImage=': 'runs from the host (Node, ffmpeg, gpiod tools)',
};

/** `systemd-analyze security --offline=yes` of `text` as facegate.service: the overall figure and failed checks. */
function security(text: string): { exposure: number; failed: string[] } {
  const copy = path.join(work, 'facegate.service');
  writeFileSync(copy, text);
  const run = (json: boolean) => {
    const args = ['security', '--offline=yes', ...(json ? ['--json=short'] : []), copy];
    const out = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout;
  };
  const overall = /Overall exposure level for facegate\.service: (\d+(?:\.\d+)?)/.exec(run(false));
  assert.ok(overall, 'no "Overall exposure level" line');
  const checks = JSON.parse(run(true)) as Array<{ set: boolean; name: string }>;
  return { exposure: Number(overall[1]), failed: checks.filter((c) => !c.set).map((c) => c.name) };
}

/** The unit without every line setting `key`. */
const without = (key: string) =>
  unitText
    .split('\n')
    .filter((line) => !line.startsWith(`${key}=`))
    .join('\n');

/** Verifies `text` as facegate.service; ExecStart points at this node so the "is executable" check can pass here. */
function verify(text: string): { status: number | null; problems: string[] } {
  const copy = path.join(work, 'facegate.service');
  writeFileSync(
    copy,
    text.replace(/^ExecStart=\/usr\/bin\/facegate /m, `ExecStart=${process.execPath} ${repoRoot}/bin/facegate.js `),
  );
  const out = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  const problems = `${out.stdout}${out.stderr}`.split('\n').filter((line) => line.includes('facegate.service'));
  return { status: out.status, problems };
}

describe('systemd/facegate.service', () => {
  test('has the directives the issue asks for', () => {
    const expected: Record<string, string> = {
      Type: 'notify',
      NotifyAccess: 'all',
      Restart: 'on-failure',
      User: 'facegate',
      ProtectSystem: 'strict',
      StateDirectory: 'facegate',
      NoNewPrivileges: 'true',
      PrivateTmp: 'true',
      SupplementaryGroups: 'gpio video input',
      ExecStart: '/usr/bin/facegate run --config /etc/facegate/config.yaml',
      KillSignal: 'SIGTERM',
      ExecReload: '/bin/kill -HUP $MAINPID',
    };
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(directive(key), [value], key);
    assert.match(directive('WatchdogSec')[0] ?? '', /^\d+s$/);
    assert.match(directive('TimeoutStopSec')[0] ?? '', /^\d+s$/);
  });

  test('keeps every hardening line', () => {
    for (const [key, values] of Object.entries(HARDENING)) assert.deepEqual(directive(key), values, key);
  });

  test('systemd-analyze security rates it at most 3.0, failing only the accepted checks', needsAnalyze, () => {
    const { exposure, failed } = security(unitText);
    assert.ok(exposure <= 3.0, `exposure ${exposure}`);
    assert.deepEqual([...failed].sort(), Object.keys(ACCEPTED_GAPS).sort());
  });

  test('dropping a hardening line shows up in the security check', needsAnalyze, () => {
    const base = security(unitText);
    // Lines systemd-analyze does not rate, and DeviceAllow (without it, DevicePolicy=closed allows fewer devices):
    // the directive table above guards them.
    const unrated = new Set([
      'AmbientCapabilities',
      'RemoveIPC',
      'KeyringMode',
      'SystemCallErrorNumber',
      'DeviceAllow',
    ]);
    for (const key of Object.keys(HARDENING).filter((k) => !unrated.has(k))) {
      const weaker = security(without(key));
      const newGaps = weaker.failed.filter((name) => !(name in ACCEPTED_GAPS));
      assert.ok(newGaps.length > 0 || weaker.exposure > base.exposure, `dropping ${key} went unnoticed`);
    }
    // Without the capability and system call lines it would be over the limit.
    assert.ok(security(without('CapabilityBoundingSet')).exposure > base.exposure + 1);
    assert.ok(security(without('SystemCallFilter')).exposure > base.exposure + 1);
  });

  test('systemd-analyze verify passes with no warnings', needsAnalyze, () => {
    const { status, problems } = verify(unitText);
    assert.equal(status, 0, problems.join('\n'));
    assert.deepEqual(problems, []);
  });

  test('the verify check catches a mistyped directive', needsAnalyze, () => {
    const { problems } = verify(unitText.replace('ProtectHome=true', 'ProtectHom=true'));
    assert.ok(
      problems.some((line) => /Unknown key/.test(line)),
      problems.join('\n'),
    );
  });
});

describe('systemd/facegate-display.service', () => {
  test('is a user unit of the graphical session, with no uid or user name in it', () => {
    assert.deepEqual(directive('WantedBy', displayText), ['graphical-session.target']);
    for (const key of ['User', 'Group', 'XDG_RUNTIME_DIR'])
      assert.doesNotMatch(displayText, new RegExp(`^${key}=`, 'm'));
    assert.doesNotMatch(displayText, /\/run\/user\/\d|\/home\//, 'a hard-coded uid or home');
    assert.match(displayText, /^ExecStart=\/usr\/bin\/chromium [\s\S]*--user-data-dir=%C\/facegate-kiosk$/m);
    assert.deepEqual(directive('CacheDirectory', displayText), ['facegate-kiosk']);
    for (const key of ['NoNewPrivileges', 'LockPersonality', 'RestrictRealtime', 'RestrictSUIDSGID'])
      assert.deepEqual(directive(key, displayText), ['true'], key);
    assert.deepEqual(directive('SystemCallArchitectures', displayText), ['native']);
    assert.equal(directive('RestrictAddressFamilies', displayText).length, 1);
  });

  test('systemd-analyze --user verify passes with no warnings', needsAnalyze, () => {
    const runtime = path.join(work, 'runtime');
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
    const copy = path.join(work, 'facegate-display.service');
    writeFileSync(copy, displayText);
    const out = spawnSync('systemd-analyze', ['--user', 'verify', copy], {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
    });
    const problems = `${out.stdout}${out.stderr}`.split('\n').filter((line) => line.includes('facegate-display'));
    assert.equal(out.status, 0, problems.join('\n'));
    assert.deepEqual(problems, []);
  });
});
