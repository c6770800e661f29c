/**
 * The kiosk view of anti-spoofing (issue 12): the challenge screen carries the step and the progress, and an
 * anti-spoofing denial says "Liveness check failed — please try again" — never which cue failed, never a score.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DENIAL_TEXT, DisplayState, LIVENESS_TEXT } from '../../src/display/view.ts';

const view = () => new DisplayState({ siteName: 'Test', slideSeconds: 8, preview: false, pageVersion: 'v' });

test('VERIFYING with a challenge shows the challenge screen with its step and progress', () => {
  const state = view();
  const challenge = { step: 'turn-left' as const, stepIndex: 0, stepCount: 2, fraction: 0.25, deadline: 5000 };
  state.applyFlowState({ state: 'VERIFYING', mode: 'badge+face', deadline: 10_000, challenge });
  const snap = state.snapshot();
  assert.equal(snap.screen, 'challenge');
  assert.deepEqual(snap.challenge, challenge);
  assert.equal(snap.deadline, 5000, 'the countdown is the challenge’s');
  // Without a challenge, the usual "look at the camera".
  state.applyFlowState({ state: 'VERIFYING', mode: 'badge+face', deadline: 10_000 });
  assert.equal(state.snapshot().screen, 'look');
  assert.equal(state.snapshot().challenge, null);
});

test('a liveness denial has its own sentence with no detail; other denials stay neutral', () => {
  const state = view();
  state.applyFlowState({ state: 'DENIED', mode: 'badge+face', reason: 'liveness' });
  assert.equal(state.snapshot().screen, 'denied');
  assert.equal(state.snapshot().message, LIVENESS_TEXT);
  assert.equal(LIVENESS_TEXT, 'Liveness check failed — please try again');
  assert.ok(!/blink|turn|score|print|screen/i.test(LIVENESS_TEXT), 'no cue named');
  state.applyFlowState({ state: 'DENIED', mode: 'badge+face', reason: 'denied' });
  assert.equal(state.snapshot().message, DENIAL_TEXT);
});
