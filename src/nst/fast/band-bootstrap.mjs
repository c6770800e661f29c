// Helper-worker entry for the fast-style band split: Node cannot load .ts in a worker by itself, so register tsx first.
import { register } from 'tsx/esm/api';

register();
await import('./band-worker.ts');
