/**
 * The daemon's whole configuration: one typed object with documented defaults, composed from one schema file per
 * section (`sections/<name>.ts`) so each module's owner can evolve its section without touching the others.
 * Unknown keys are errors (a typo must not silently fall back to a default), except inside the open sections.
 */
import os from 'node:os';
import { z } from 'zod';
import { auditSection } from './sections/audit.ts';
import { badgeSection } from './sections/badge.ts';
import { cameraSection } from './sections/camera.ts';
import { dataSection } from './sections/data.ts';
import { doorSection } from './sections/door.ts';
import { httpSection } from './sections/http.ts';
import { loggingSection } from './sections/logging.ts';
import { mqttConfigSchema } from './sections/mqtt.ts';
import { recognitionSection } from './sections/recognition.ts';

/** Bump with a migration in `migrate.ts` whenever a key is renamed or its meaning changes. */
export const CONFIG_VERSION = 1;

const KIOSK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The host name, cut down to what is safe in an MQTT topic level. */
export function defaultKioskId(): string {
  const cleaned = os
    .hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 64);
  return cleaned || 'kiosk';
}

export const configSchema = z
  .strictObject({
    configVersion: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
    /** Stable id of this kiosk (MQTT base topic `facegate/<kioskId>`, fleet records); default: the host name. */
    kioskId: z
      .string()
      .regex(KIOSK_ID, 'letters, digits, - and _ only (1-64 characters)')
      .default(() => defaultKioskId()),
    recognition: recognitionSection,
    camera: cameraSection,
    door: doorSection,
    badge: badgeSection,
    logging: loggingSection,
    data: dataSection,
    mqtt: mqttConfigSchema.prefault({}),
    http: httpSection,
    audit: auditSection,
  })
  .prefault({});

export type FacegateConfig = z.infer<typeof configSchema>;

/** A nested partial, for command-line overrides and tests. */
export type ConfigOverrides = {
  [K in keyof FacegateConfig]?: FacegateConfig[K] extends object ? Partial<FacegateConfig[K]> : FacegateConfig[K];
};
