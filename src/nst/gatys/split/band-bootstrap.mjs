// Helper-worker entry for split Gatys: Node cannot load .ts in a worker by itself, so register tsx first.
import { register } from 'tsx/esm/api';

register();
await import('./band-worker.ts');
