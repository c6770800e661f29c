#!/usr/bin/env node
// Runs the compiled CLI from dist/ (built by `npm run build`, which `npm ci` runs through `prepare`): no TypeScript
// compiler at run time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('facegate: dist/ is missing; run `npm run build` (npm ci runs it) in the package directory\n');
  process.exit(2);
}
await import(main.href);
