/**
 * The MQTT transport: one MQTT.js client with TLS, credentials and a Last Will (`<base>/status` → `offline`,
 * retained), an embedded broker when no URL is configured, and topic routing. Handlers register
 * `subscribe(filter, handler)`: the filter is subscribed (QoS 1) on every connect and each message goes to every
 * handler whose filter matches its topic. Nothing here reads a payload: size and shape checks are the handlers'.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import { ExitCode, errorMessage, FacegateError } from '../util/errors.ts';
import { probeMqttBroker } from './broker-probe.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from './embedded-broker.ts';

export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

export interface TransportOptions {
  config: MqttConfig;
  kioskId: string;
  /** `<base>/status`: `online` on connect, `offline` on a clean stop and as the Last Will. */
  statusTopic: string;
  /** The largest packet we accept (MQTT 5 maximumPacketSize; the embedded broker's limit). */
  maxPacketBytes: number;
  logger: Logger;
}

interface Route {
  filter: string;
  handler: MessageHandler;
  /** False for filters the handler subscribes itself, in an order of its own (fleet sync). */
  autoSubscribe: boolean;
}

/** MQTT filter matching: `+` is one level, a trailing `#` the rest (and the parent level itself). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new FacegateError(
      `mqtt.tls.${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      ExitCode.config,
    );
  }
}

export class MqttTransport {
  private readonly opts: TransportOptions;
  private readonly routes: Route[] = [];
  private readonly connectListeners: Array<() => void> = [];
  private readonly disconnectListeners: Array<() => void> = [];
  private client: MqttClient | null = null;
  private broker: EmbeddedBroker | null = null;
  private brokerUrl: string | null = null;
  private isConnected = false;
  private stopping = false;

  constructor(opts: TransportOptions) {
    this.opts = opts;
  }

  /** The broker URL in use (the embedded broker's once started), null before start. */
  get url(): string | null {
    return this.brokerUrl;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Routes messages on `filter` to `handler`; `autoSubscribe: false` when the handler subscribes it itself. */
  subscribe(filter: string, handler: MessageHandler, opts: { autoSubscribe?: boolean } = {}): void {
    this.routes.push({ filter, handler, autoSubscribe: opts.autoSubscribe ?? true });
  }

  /** Called on every (re)connect, after `online` went out and the filters were subscribed, in the order added. */
  onConnect(listener: () => void): void {
    this.connectListeners.push(listener);
  }

  onDisconnect(listener: () => void): void {
    this.disconnectListeners.push(listener);
  }

  /** Publishes now if a client exists (MQTT.js queues while reconnecting); `done` gets the outcome at QoS > 0. */
  publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions, done?: (err?: Error) => void): void {
    const client = this.client;
    if (!client) return;
    client.publish(topic, payload, opts, (err) => done?.(err ?? undefined));
  }

  /** A raw subscription, for a handler that orders its own subscriptions (fleet sync). */
  subscribeNow(filters: string[], done: (err?: Error) => void): void {
    if (!this.client) return;
    this.client.subscribe(filters, { qos: 1 }, (err) => done(err ?? undefined));
  }

  /** Starts the embedded broker when no URL is configured, then connects (and keeps reconnecting). */
  async start(): Promise<void> {
    const { config, logger, maxPacketBytes } = this.opts;
    let protocolVersion: 4 | 5 = config.protocolVersion;
    this.brokerUrl = config.url ?? null;
    if (!this.brokerUrl) {
      if (!config.embeddedBroker.enabled)
        throw new FacegateError('mqtt: no url configured and the embedded broker is disabled', ExitCode.config);
      this.brokerUrl = await this.existingBroker();
    }
    if (!this.brokerUrl) {
      const started = await startEmbeddedBroker(config.embeddedBroker.host, config.embeddedBroker.port, {
        maxPacketBytes,
      });
      this.broker = started;
      this.brokerUrl = started.url;
      protocolVersion = 4;
      logger.info(
        { event: 'mqtt', url: started.url, fellBack: started.fellBack },
        started.fellBack
          ? `embedded broker on ${started.url} (port ${config.embeddedBroker.port} was busy)`
          : `embedded broker on ${started.url}`,
      );
    }
    const options: IClientOptions = {
      clientId: `facegate-${this.opts.kioskId}`.slice(0, 64),
      clean: true,
      protocolVersion,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      will: { topic: this.opts.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      username: config.username,
      password: config.password,
      ca: readPem(config.tls?.ca, 'ca'),
      cert: readPem(config.tls?.cert, 'cert'),
      key: readPem(config.tls?.key, 'key'),
      rejectUnauthorized: config.tls?.rejectUnauthorized ?? true,
      // The broker drops what we would refuse anyway (MQTT 5), and MQTT.js refuses a bigger packet from a broker
      // that ignores it; with 3.1.1 the per-topic limits still refuse it before parsing.
      ...(protocolVersion === 5 ? { properties: { maximumPacketSize: maxPacketBytes } } : {}),
    };
    const client = mqtt.connect(this.brokerUrl, options);
    this.client = client;
    client.on('connect', () => this.connectedTo(client));
    client.on('close', () => this.lost());
    client.on('offline', () => this.lost());
    client.on('error', (err) =>
      logger.warn({ event: 'mqtt', url: this.brokerUrl, err: errorMessage(err) }, 'broker connection error'),
    );
    client.on('message', (topic, payload, packet) => {
      for (const route of this.routes) if (topicMatches(route.filter, topic)) route.handler(topic, payload, packet);
    });
  }

  /** A broker already answering where the embedded one would listen (Mosquitto on 1883), or null. */
  private async existingBroker(): Promise<string | null> {
    const { host, port, useExisting } = this.opts.config.embeddedBroker;
    if (!useExisting || port === 0) return null;
    const probeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    if (!(await probeMqttBroker(probeHost, port))) return null;
    const found = `mqtt://${probeHost.includes(':') ? `[${probeHost}]` : probeHost}:${port}`;
    this.opts.logger.info(
      { event: 'mqtt', url: found, existing: true },
      `using the MQTT broker already answering on ${probeHost}:${port} (mqtt.embeddedBroker.useExisting: false starts our own)`,
    );
    return found;
  }

  /** A clean stop says so (`offline`, at most 2 s); then the client ends and the embedded broker closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = null;
    if (client) {
      if (this.isConnected) {
        await Promise.race([
          new Promise<void>((resolve) =>
            client.publish(this.opts.statusTopic, 'offline', { qos: 1, retain: true }, () => resolve()),
          ),
          new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
        ]);
      }
      await client.endAsync(true).catch(() => undefined);
    }
    this.isConnected = false;
  }

  /** After the handlers closed their files: the embedded broker goes last. */
  async closeBroker(): Promise<void> {
    await this.broker?.close();
    this.broker = null;
  }

  private connectedTo(client: MqttClient): void {
    const { logger, statusTopic } = this.opts;
    this.isConnected = true;
    logger.info({ event: 'mqtt', url: this.brokerUrl }, 'connected to broker');
    client.publish(statusTopic, 'online', { qos: 1, retain: true });
    const filters = [...new Set(this.routes.filter((r) => r.autoSubscribe).map((r) => r.filter))];
    if (filters.length > 0) {
      client.subscribe(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])), (err) => {
        if (err) logger.error({ event: 'mqtt', err: errorMessage(err) }, 'subscribe failed');
      });
    }
    for (const listener of this.connectListeners) listener();
  }

  private lost(): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    for (const listener of this.disconnectListeners) listener();
    // Our own stop closes the connection: not a warning.
    if (this.stopping) return;
    this.opts.logger.warn(
      { event: 'mqtt', url: this.brokerUrl },
      'broker connection lost; events are kept in the outbox',
    );
  }
}
