/**
 * The shape of one MQTT topic family's handler (commands, badge input, Home Assistant, fleet, events out), and what
 * the module hands every one of them. A handler registers its topics with `deps.client.subscribe` in `start()`;
 * the module starts them in its list's order, and stops them in reverse.
 */
import type { CommandVerifier } from '../auth.ts';
import type { Inbound, InboundDeps } from '../inbound.ts';

export interface HandlerDeps extends InboundDeps {
  inbound: Inbound;
  /** The admin-signature verifier, once the module opened it (null before start). */
  verifier(): CommandVerifier | null;
}

export interface MqttHandler {
  readonly name: string;
  /** Before the client connects: open what it needs, register its topics. */
  start?(): Promise<void> | void;
  /** On every (re)connect, after `online` went out and the topics were subscribed. */
  connected?(): void;
  disconnected?(): void;
  /** Before the client goes: timers and bus listeners end here. */
  stop?(): Promise<void> | void;
  /** After the client ended: files close here. */
  close?(): Promise<void> | void;
  /** Its part of the `stats` command's answer. */
  stats?(): Record<string, unknown>;
}
