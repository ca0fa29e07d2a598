/** Workflows for the size-limit tests (test/temporal/activity-calls.test.ts). */

/** Returns a string of `bytes` characters: a result over the server's blob size limit when large enough. */
export async function returnsLargeResult(bytes: number): Promise<string> {
  return 'x'.repeat(bytes);
}
