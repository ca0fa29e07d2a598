/** Every emulated service; add yours here (one import, one entry). See ../SERVICES.md. */
import type { ServiceDefinition } from '../service';
import { s3 } from './s3';

export const allServices: readonly ServiceDefinition<unknown>[] = [s3];
