/** The transport's routing: MQTT filter matching decides which handler gets a message. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicMatches } from '../../src/mqtt/client.ts';

test('topic filters: + is exactly one level, a trailing # the rest and the parent', () => {
  const cases: Array<[string, string, boolean]> = [
    ['facegate/k/cmd/+', 'facegate/k/cmd/enroll', true],
    ['facegate/k/cmd/+', 'facegate/k/cmd/enroll/result', false],
    ['facegate/k/cmd/+', 'facegate/k/cmd', false],
    ['facegate/k/cmd/+', 'facegate/k/cmd/', true],
    ['facegate/k/badge', 'facegate/k/badge', true],
    ['facegate/k/badge', 'facegate/k/badge/x', false],
    ['facegate/k/badge', 'facegate/other/badge', false],
    ['facegate/_fleet/#', 'facegate/_fleet/identities/ada', true],
    ['facegate/_fleet/#', 'facegate/_fleet', true],
    ['facegate/_fleet/#', 'facegate/_fleetx/identities/ada', false],
    ['homeassistant/status', 'homeassistant/status', true],
    ['a/#/b', 'a/x/b', false],
  ];
  for (const [filter, topic, expected] of cases)
    assert.equal(topicMatches(filter, topic), expected, `${filter} vs ${topic}`);
});
