import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { initSdNotify } from '../../src/daemon/sd-notify.ts';

const work = mkdtempSync(path.join(tmpdir(), 'facegate-sdnotify-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function until(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

describe('sd-notify', () => {
  test('not under systemd (no NOTIFY_SOCKET): inactive, sends nothing', async () => {
    const log = path.join(work, 'never.log');
    const fake = path.join(work, 'never-systemd-notify');
    writeFileSync(fake, `#!/bin/sh\necho "$*" >> ${log}\n`);
    chmodSync(fake, 0o755);
    const notifier = initSdNotify({ env: { WATCHDOG_USEC: '1000' }, command: fake });
    notifier.ready('up');
    notifier.stopping();
    await new Promise((r) => setTimeout(r, 200));
    notifier.stop();
    assert.equal(notifier.active, false);
    assert.equal(notifier.watchdogIntervalMs, null);
    assert.equal(existsSync(log), false);
  });

  test('READY, STATUS, STOPPING and watchdog pings at WATCHDOG_USEC/2 through systemd-notify', async () => {
    const log = path.join(work, 'fake.log');
    const fake = path.join(work, 'fake-systemd-notify');
    writeFileSync(fake, `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >> ${log}\n`);
    chmodSync(fake, 0o755);
    const notifier = initSdNotify({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '100000' }, command: fake });
    assert.equal(notifier.active, true);
    assert.equal(notifier.watchdogIntervalMs, 50);
    notifier.ready('kiosk up');
    await until('two watchdog pings', () => read(log).split('WATCHDOG=1').length > 2);
    notifier.stopping();
    notifier.stop();
    await until('STOPPING', () => read(log).includes('STOPPING=1'));
    assert.match(read(log), /^\/run\/x READY=1 STATUS=kiosk up$/m);
  });

  test('WATCHDOG_PID for another process: no pings', () => {
    const notifier = initSdNotify({
      env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' },
      command: '/bin/true',
    });
    assert.equal(notifier.watchdogIntervalMs, null);
    notifier.stop();
  });

  test('a missing systemd-notify binary is soft: no throw', async () => {
    const warnings: unknown[] = [];
    const notifier = initSdNotify({
      env: { NOTIFY_SOCKET: '/run/x' },
      command: path.join(work, 'absent'),
      logger: { warn: (o: unknown) => warnings.push(o) } as never,
    });
    notifier.ready();
    await until('warning', () => warnings.length === 1);
    notifier.status('still fine');
    notifier.stop();
  });

  const hasTools =
    spawnSync('systemd-notify', ['--version']).status === 0 && spawnSync('python3', ['--version']).status === 0;
  test('the real systemd-notify delivers the datagram to $NOTIFY_SOCKET', {
    skip: hasTools ? false : 'systemd-notify or python3 not installed',
  }, async () => {
    const socketPath = path.join(work, 'notify.sock');
    const received = path.join(work, 'received.log');
    // A stand-in for systemd: receives datagrams and closes the barrier fds systemd-notify waits on.
    const receiver: ChildProcess = spawn('python3', [
      '-c',
      `import socket, os, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(${JSON.stringify(socketPath)})
print('listening', flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(64))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for fd in array.array('i', data[: len(data) - len(data) % 4]):
                os.close(fd)
    with open(${JSON.stringify(received)}, 'a') as f:
        f.write(msg.decode() + '\\n')
`,
    ]);
    try {
      await new Promise<void>((resolve) => receiver.stdout?.once('data', () => resolve()));
      const notifier = initSdNotify({ env: { NOTIFY_SOCKET: socketPath } });
      notifier.ready('ready for faces');
      await until('READY datagram', () => read(received).includes('READY=1'));
      assert.match(read(received), /READY=1\nSTATUS=ready for faces/);
      notifier.stop();
    } finally {
      receiver.kill();
    }
  });
});
