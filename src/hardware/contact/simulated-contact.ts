/** A contact driven by code (tests, demos): `set(true)` opens the door. */
import type { DoorContactSource } from './contact.ts';

export class SimulatedContact implements DoorContactSource {
  readonly description = 'simulated contact';
  private listener: ((active: boolean) => void) | null = null;
  constructor(private value = false) {}
  start(onChange: (active: boolean) => void): void {
    this.listener = onChange;
    onChange(this.value);
  }
  set(active: boolean): void {
    if (active === this.value) return;
    this.value = active;
    this.listener?.(active);
  }
  async stop(): Promise<void> {
    this.listener = null;
  }
}
