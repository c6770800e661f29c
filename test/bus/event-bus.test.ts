/**
 * The event bus isolates its listeners: one that throws or rejects is logged with its owner's name and every other
 * listener still runs. Before this, a throwing `access` listener skipped the unlock and killed the daemon.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BusLogger, EventBus, maskBadge } from '../../src/bus/event-bus.ts';

function recordingLogger(): BusLogger & {
  lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }>;
} {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }),
    error: (fields, msg) => lines.push({ level: 'error', fields, msg }),
  };
}

describe('event bus', () => {
  test('a throwing listener is logged with its owner and the later listeners still run', () => {
    const logger = recordingLogger();
    const bus = new EventBus(logger);
    const seen: string[] = [];
    bus.on('brokerState', () => seen.push('first'), 'first');
    bus.on(
      'brokerState',
      () => {
        throw new Error('boom');
      },
      'broken-feature',
    );
    bus.on('brokerState', () => seen.push('third'), 'third');
    bus.emit('brokerState', { connected: true });
    assert.deepEqual(seen, ['first', 'third']);
    const line = logger.lines.find((l) => l.fields.event === 'listener-error');
    assert.ok(line, 'the failure is logged');
    assert.equal(line.fields.owner, 'broken-feature');
    assert.equal(line.fields.on, 'brokerState');
  });

  test('a rejecting async listener is logged, not an unhandled rejection', async () => {
    const logger = recordingLogger();
    const bus = new EventBus(logger);
    let unhandled = false;
    const onUnhandled = () => {
      unhandled = true;
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      bus.on('brokerState', async () => Promise.reject(new Error('async boom')), 'async-feature');
      bus.emit('brokerState', { connected: false });
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(unhandled, false);
    assert.equal(logger.lines.find((l) => l.fields.event === 'listener-error')?.fields.owner, 'async-feature');
  });

  test('unsubscribing stops delivery, also from inside a listener', () => {
    const bus = new EventBus(recordingLogger());
    const seen: number[] = [];
    const off = bus.on('brokerState', () => {
      seen.push(1);
      off();
    });
    bus.on('brokerState', () => seen.push(2));
    bus.emit('brokerState', { connected: true });
    bus.emit('brokerState', { connected: true });
    assert.deepEqual(seen, [1, 2, 2]);
  });

  test('alarm() builds one event shape, logs it once and emits it', () => {
    const logger = recordingLogger();
    const bus = new EventBus(logger);
    const alarms: unknown[] = [];
    bus.on('alarm', (a) => alarms.push(a));
    const event = bus.alarm('lockout', 'too many failures', { badge: '****1234', time: Date.UTC(2026, 0, 1) });
    assert.deepEqual(alarms, [event]);
    assert.equal(event.kind, 'lockout');
    assert.equal(event.time, '2026-01-01T00:00:00.000Z');
    assert.equal(event.badge, '****1234');
    assert.match(event.eventId, /^[0-9a-f-]{36}$/);
    assert.equal(logger.lines.filter((l) => l.fields.event === 'alarm').length, 1);
    const second = bus.alarm('camera-lost', 'camera gone');
    assert.notEqual(second.eventId, event.eventId);
    assert.equal('badge' in second, false);
  });
});

describe('maskBadge', () => {
  test('shows at most half of a badge and never more than 4 characters, the rest as *, for lengths 1..12', () => {
    for (let length = 1; length <= 12; length++) {
      const badge = '123456789abc'.slice(0, length);
      const masked = maskBadge(badge);
      const shown = masked.replace(/^\*+/, '');
      assert.equal(masked.length, length, `${length}: the rest as *`);
      assert.ok(shown.length <= length / 2, `${length}: ${masked} shows more than half`);
      assert.ok(shown.length <= 4, `${length}: ${masked} shows more than 4`);
      assert.equal(shown, badge.slice(length - shown.length), `${length}: the last characters`);
      assert.equal(shown.length, Math.min(4, Math.floor(length / 2)), `${length}: as much as allowed`);
    }
    assert.equal(maskBadge('12345'), '***45');
    assert.equal(maskBadge('12345678'), '****5678');
    assert.equal(maskBadge('1'), '*');
  });
});
