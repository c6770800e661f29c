// Worker entry: Node cannot load .ts in a worker by itself, so register tsx first, then load the real worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
