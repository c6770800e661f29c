/** The kiosk screen for a verified person outside their schedule (issue 14): its own text; every other denial neutral. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DENIAL_TEXT, DisplayState, OUTSIDE_SCHEDULE_TEXT } from '../../src/display/view.ts';

test('DENIED with outside-schedule says "Access is not allowed at this time"; other reasons stay neutral', () => {
  const view = new DisplayState({ siteName: 'x', slideSeconds: 5, preview: false, pageVersion: '1' });
  view.applyFlowState({ state: 'DENIED', mode: 'badge+face', reason: 'outside-schedule' });
  assert.equal(view.snapshot().message, 'Access is not allowed at this time');
  assert.equal(OUTSIDE_SCHEDULE_TEXT, 'Access is not allowed at this time');
  view.applyFlowState({ state: 'DENIED', mode: 'badge+face', reason: 'denied' });
  assert.equal(view.snapshot().message, DENIAL_TEXT);
});
