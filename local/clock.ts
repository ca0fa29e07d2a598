/**
 * Time source shared by the embedded Temporal server and the AWS emulator. In time-skipping tests the server's
 * virtual clock is handed to the emulator, so a job that "takes an hour" finishes when the server skips an hour.
 */
export interface Clock {
  /** Milliseconds since the epoch, real or virtual. */
  now(): number;
}
