/**
 * Opens the admin-signature verifier for a running module: the configured secret and public keys, and the nonce
 * store that refuses replays across restarts. A bad public key is a configuration error (exit 78) naming its index.
 */
import type { Logger } from 'pino';
import type { MqttConfig } from '../config/sections/mqtt.ts';
import { ExitCode, errorMessage, FacegateError } from '../util/errors.ts';
import { CommandVerifier, parsePublicKey } from './auth.ts';
import { NonceStore } from './nonce-store.ts';

export async function openCommandVerifier(
  config: MqttConfig,
  opts: { dataDir: string; kioskId: string; now: () => number; logger: Logger },
): Promise<CommandVerifier> {
  const publicKeys = config.adminPublicKeys.map((k, i) => {
    try {
      return parsePublicKey(k);
    } catch (err) {
      throw new FacegateError(`mqtt.adminPublicKeys.${i}: ${errorMessage(err)}`, ExitCode.config);
    }
  });
  const verifier = new CommandVerifier({
    secret: config.adminSecret,
    publicKeys,
    windowMs: config.signatureWindowMs,
    kioskId: opts.kioskId,
    acceptWildcardKiosk: config.acceptWildcardKiosk,
    nonces: await NonceStore.open(opts.dataDir, config.signatureWindowMs, opts.now),
    now: opts.now,
  });
  if (!verifier.configured) {
    // The embedded defaults (no broker configured) are a kiosk trying things out: said, not warned about.
    const level = config.url ? 'warn' : 'info';
    opts.logger[level](
      { event: 'mqtt' },
      'no mqtt.adminSecret / FACEGATE_ADMIN_SECRET or admin keys: admin commands are refused',
    );
  }
  return verifier;
}
