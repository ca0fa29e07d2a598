/** An operator mistake (unknown name, bad flag value): one line on stderr, exit code 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
