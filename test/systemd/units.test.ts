import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from '../helpers/shared.ts';

const unitFile = path.join(repoRoot, 'systemd', 'facegate.service');
const unitText = readFileSync(unitFile, 'utf8');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const work = mkdtempSync(path.join(tmpdir(), 'facegate-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

function directive(key: string): string[] {
  return unitText
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

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
      ReadWritePaths: '/var/lib/facegate',
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

  test('systemd-analyze verify passes with no warnings', {
    skip: hasAnalyze ? false : 'systemd-analyze not installed (Debian package systemd)',
  }, () => {
    const { status, problems } = verify(unitText);
    assert.equal(status, 0, problems.join('\n'));
    assert.deepEqual(problems, []);
  });

  test('the verify check catches a mistyped directive', {
    skip: hasAnalyze ? false : 'systemd-analyze not installed (Debian package systemd)',
  }, () => {
    const { problems } = verify(unitText.replace('ProtectHome=true', 'ProtectHom=true'));
    assert.ok(
      problems.some((line) => /Unknown key/.test(line)),
      problems.join('\n'),
    );
  });
});
