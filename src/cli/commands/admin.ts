/**
 * `facegate admin sign <verb> [json] --kiosk <id>` prints a signed command payload bound to that kiosk (a command
 * that names no kiosk is refused everywhere); `facegate admin send <verb> [json]` publishes
 * one to a kiosk and waits for its result (exit 0 ok, 2 error or timeout); `facegate admin keygen` makes an
 * Ed25519 admin key pair (`--fleet`: a fleet secret). The secret comes from FACEGATE_ADMIN_SECRET, --secret-file,
 * or --key (Ed25519 PEM).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { MqttClient } from 'mqtt';
import { type SigningKey, signCommand } from '../../mqtt/auth.ts';
import { buildTopics, defaultBaseTopic, isCommandVerb } from '../../mqtt/topics.ts';
import { ExitCode, errorMessage, FacegateError } from '../../util/errors.ts';

interface SignOptions {
  secretFile?: string;
  key?: string;
  kiosk: string;
  image?: string[];
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FacegateError(
      `${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
    );
  }
}

function signingKey(opts: SignOptions): SigningKey {
  if (opts.key) return { privateKey: readText(opts.key, 'key') };
  const secret = opts.secretFile ? readText(opts.secretFile, 'secret file').trim() : process.env.FACEGATE_ADMIN_SECRET;
  if (!secret)
    throw new FacegateError(
      'no signing key: set FACEGATE_ADMIN_SECRET, or pass --secret-file <file> or --key <ed25519.pem>',
    );
  return { secret };
}

function buildPayload(verb: string, json: string | undefined, opts: SignOptions): Record<string, unknown> {
  if (!isCommandVerb(verb) && verb !== 'badge')
    throw new FacegateError(`unknown verb "${verb}" (enroll, update, delete, list, unlock, reload, stats, badge)`);
  let body: unknown = {};
  if (json) {
    try {
      body = JSON.parse(json);
    } catch {
      throw new FacegateError('the payload argument is not JSON (quote it: \'{"id":"alice"}\')');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new FacegateError('the payload must be a JSON object');
  }
  const fields = { ...(body as Record<string, unknown>) };
  if (opts.image?.length) fields.images = opts.image.map((f) => readFileSync(f).toString('base64'));
  if (fields.requestId === undefined) fields.requestId = randomUUID();
  return signCommand(verb, fields, signingKey(opts), { kiosk: opts.kiosk });
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('sign and send admin commands to kiosks over MQTT');
  const signingOptions = (cmd: Command) =>
    cmd
      .option('--secret-file <file>', 'file holding the site secret (default: FACEGATE_ADMIN_SECRET)')
      .option('--key <pem>', 'sign with this Ed25519 private key instead of the site secret')
      .option('--image <file>', 'add an image to an enroll command (repeatable)', collect);

  signingOptions(admin.command('sign <verb> [json]').description('print a signed command payload (valid for 60 s)'))
    // Required: a command that names no kiosk is refused everywhere; "*" (every kiosk) only where a kiosk allows it.
    .requiredOption('--kiosk <id>', 'the kiosk the command is for ("*" for every kiosk that accepts that)')
    .action((verb: string, json: string | undefined, opts: SignOptions) => {
      process.stdout.write(`${JSON.stringify(buildPayload(verb, json, opts))}\n`);
    });

  signingOptions(admin.command('send <verb> [json]').description('publish a signed command and wait for its result'))
    .requiredOption('--mqtt <url>', 'broker URL, e.g. mqtt://broker:1883')
    .requiredOption('--kiosk-id <id>', 'target kiosk')
    .option('--base-topic <topic>', 'base topic (default facegate/<kiosk-id>)')
    .option('--timeout <ms>', 'how long to wait for the result', '30000')
    .option('--protocol <version>', '5, or 4 for brokers without MQTT 5', '5')
    .option('--username <name>', 'broker user (password from FACEGATE_MQTT_PASSWORD)')
    .action(
      async (
        verb: string,
        json: string | undefined,
        opts: SignOptions & {
          mqtt: string;
          kioskId: string;
          baseTopic?: string;
          timeout: string;
          protocol: string;
          username?: string;
        },
      ) => {
        const payload = buildPayload(verb, json, { ...opts, kiosk: opts.kioskId });
        const topics = buildTopics(opts.baseTopic ?? defaultBaseTopic(opts.kioskId));
        const timeoutMs = Number(opts.timeout);
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
          throw new FacegateError('--timeout must be a positive number of milliseconds');
        const protocolVersion = opts.protocol === '4' ? 4 : 5;
        let client: MqttClient;
        // Loaded here: `admin sign` and `admin keygen` need no MQTT client.
        const { connectAsync } = await import('mqtt');
        try {
          client = await connectAsync(opts.mqtt, {
            protocolVersion,
            connectTimeout: Math.min(timeoutMs, 10_000),
            reconnectPeriod: 0,
            username: opts.username,
            password: process.env.FACEGATE_MQTT_PASSWORD,
          });
        } catch (err) {
          throw new FacegateError(`cannot connect to ${opts.mqtt}: ${errorMessage(err)}`);
        }
        try {
          const resultTopic = topics.result(verb);
          const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new FacegateError(`no result on ${resultTopic} within ${timeoutMs} ms`)),
              timeoutMs,
            );
            client.on('message', (topic, message) => {
              if (topic !== resultTopic) return;
              try {
                const parsed = JSON.parse(message.toString('utf8')) as Record<string, unknown>;
                if (parsed.requestId !== payload.requestId) return;
                clearTimeout(timer);
                resolve(parsed);
              } catch {
                // someone else's junk on the result topic
              }
            });
            client
              .subscribeAsync(resultTopic, { qos: 1 })
              .then(() => client.publishAsync(topics.command(verb), JSON.stringify(payload), { qos: 1 }))
              .catch((err) => {
                clearTimeout(timer);
                reject(new FacegateError(`publish failed: ${errorMessage(err)}`));
              });
          });
          process.stdout.write(`${JSON.stringify(result)}\n`);
          process.exitCode = result.ok === true ? ExitCode.ok : ExitCode.error;
        } finally {
          await client.endAsync(true).catch(() => undefined);
        }
      },
    );

  admin
    .command('keygen')
    .description('print a new Ed25519 admin key pair (private PEM, then the public key for mqtt.adminPublicKeys)')
    .option(
      '--fleet',
      'print a new fleet secret instead (mqtt.fleet.secret / FACEGATE_FLEET_SECRET; it signs no command)',
    )
    .action((opts: { fleet?: boolean }) => {
      if (opts.fleet) {
        process.stdout.write(`${randomBytes(32).toString('base64url')}\n`);
        return;
      }
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      process.stdout.write(`${privateKey.export({ type: 'pkcs8', format: 'pem' })}`);
      process.stdout.write(`${publicKey.export({ type: 'spki', format: 'pem' })}`);
    });
}
