import { hostname } from 'node:os';

export function createSystemActivities() {
  return {
    async echo(message: string): Promise<string> {
      return `pong from ${process.pid}@${hostname()}: ${message}`;
    },
  };
}
