/**
 * The feature modules `facegate run` starts after the door flow: the MQTT bridge and the kiosk display (with its
 * metrics). Each can be turned off in config; they share one metrics registry.
 */
import { auditModule } from '../audit/module.ts';
import type { FacegateConfig } from '../config/schema.ts';
import { displayModuleFactory } from '../display/module.ts';
import { scheduledUnlockModule } from '../door/scheduled-unlock.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { createMqttModule } from '../mqtt/module.ts';
import type { ModuleFactory } from './controller.ts';

export function featureModules(config: FacegateConfig, metrics: Metrics): ModuleFactory[] {
  const modules: ModuleFactory[] = [];
  if (config.audit.enabled) modules.push((ctx, cfg) => auditModule(ctx, cfg.audit));
  if (config.door.scheduledUnlock.schedule) modules.push((ctx, cfg) => scheduledUnlockModule(ctx, cfg.door));
  // The display first: it must be listening when MQTT announces its first broker state.
  if (config.http.enabled) modules.push(displayModuleFactory(metrics));
  if (config.mqtt.enabled) {
    modules.push((ctx, cfg) => {
      const mqtt = createMqttModule(ctx, cfg.mqtt, { badge: cfg.badge, doorContact: cfg.door.contact !== null });
      metrics.observeOutboxDepth(() => mqtt.outboxDepth());
      return mqtt;
    });
  }
  return modules;
}
