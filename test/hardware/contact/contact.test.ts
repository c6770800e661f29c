/** Door contact and exit-button specs: the drivers a spec string picks, and config errors for bad ones. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDoorContact } from '../../../src/hardware/contact/create.ts';
import { FacegateError } from '../../../src/util/errors.ts';

test('contact specs', () => {
  assert.equal(createDoorContact('simulated').description, 'simulated contact');
  assert.match(createDoorContact('gpiod:gpiochip0:22').description, /gpiochip0 line 22/);
  for (const spec of ['reed', 'onoff:x', 'gpiod:gpiochip0']) {
    assert.throws(
      () => createDoorContact(spec),
      (e: unknown) => e instanceof FacegateError && e.exitCode === 78,
    );
  }
});
