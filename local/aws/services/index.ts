/** Every emulated service; add yours here (one import, one entry). See ../SERVICES.md. */
import type { ServiceDefinition } from '../service';

export const allServices: readonly ServiceDefinition<unknown>[] = [];
