/**
 * Reports a camera source's state changes once each (a source retrying every few seconds would otherwise repeat
 * the same state forever), to the log and to the listener, which must never be able to break the source.
 */
import type { Logger } from 'pino';
import type { CameraState } from '../../bus/event-bus.ts';
import type { CameraStateListener } from './camera.ts';

export class CameraStateReporter {
  private lastState = '';
  private listener: CameraStateListener = () => {};
  private readonly description: string;
  private readonly logger?: Logger;

  constructor(description: string, logger?: Logger) {
    this.description = description;
    this.logger = logger;
  }

  attach(listener: CameraStateListener): void {
    this.listener = listener;
    this.lastState = '';
  }

  report(state: CameraState, detail?: string): void {
    const key = `${state}|${detail ?? ''}`;
    if (key === this.lastState) return;
    this.lastState = key;
    this.logger?.info({ event: 'camera', state, detail, camera: this.description }, `camera ${state}`);
    try {
      this.listener(state, detail);
    } catch (err) {
      this.logger?.error({ err }, 'camera state listener threw');
    }
  }
}
