/**
 * `Examples:` at the end of the main commands' help, kept here (not in each command file) so every command
 * gets them the same way; a new command adds its entry. Keyed by the command path ("db", "models").
 */
import type { Command } from 'commander';

export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  run: [
    'npm start                                           # the same as: facegate run',
    'facegate run --camera dir:./frames --relay simulated:/tmp/relay.jsonl --badge stdin',
    'sudo systemctl start facegate                       # the service: facegate run --config /etc/facegate/config.yaml',
  ],
  enroll: [
    'facegate enroll alice alice-1.jpg alice-2.jpg --name "Alice" --badge 0012345678',
    'sudo -u facegate facegate enroll alice /var/lib/facegate/incoming/alice.jpg   # into the service database',
  ],
  verify: [
    'facegate verify camera_0.jpg alice            # exit 0 match, 1 no match',
    'facegate verify photo.jpg alice --json',
  ],
  identify: ['facegate identify camera_0.jpg              # exit 0 found, 1 not in the database'],
  db: [
    'facegate db list',
    'facegate db show alice --json',
    'facegate db export backup.json && facegate --data-dir /tmp/copy db import backup.json',
  ],
  admin: [
    'facegate admin keygen > admin-key.pem              # private key, then the public key for mqtt.adminPublicKeys',
    'facegate admin send unlock --key admin-key.pem --mqtt mqtt://broker:1883 --kiosk-id front-door',
    'facegate admin sign list --kiosk front-door --key admin-key.pem',
  ],
  models: [
    'facegate models list',
    'facegate models fetch fast-style udnie',
    'facegate models import vgg19 imagenet-vgg-verydeep-19.mat',
  ],
  stylize: [
    'facegate stylize face.jpg --style udnie -o out.png',
    'facegate stylize face.jpg --method gatys --style-image monet.jpg --iterations 200 -o out.png',
  ],
  config: ['facegate config check', 'facegate config check --config /etc/facegate/config.yaml --json'],
};

/** Adds each command's examples to its help. */
export function addExamples(program: Command): void {
  for (const cmd of program.commands) {
    const lines = EXAMPLES[cmd.name()];
    if (lines) cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
  }
}
