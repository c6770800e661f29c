// Worker threads do not inherit the parent's tsx loader (Node 20: module.register hooks are per thread): register
// it, then load the TypeScript worker.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
// tsx turns on Node's source-map support, which makes Node parse and keep the source map of every module loaded
// with a sourceMappingURL: the tfjs and face-api bundles' maps cost this thread ~50 MB of RSS. The worker reports
// error messages, never stacks, so it gives the maps up (this setting is per thread; the main thread keeps them).
process.setSourceMapsEnabled(false);
await import(workerData.entry);
