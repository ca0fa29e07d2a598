/**
 * For the standalone server processes only: a bug in one request handler must not take down every workflow in
 * memory, so an uncaught error is logged and the server keeps serving.
 */
export function keepServingOnUncaughtErrors(report: (err: unknown) => void): void {
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
}
