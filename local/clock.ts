/**
 * Time source shared by the embedded Temporal server and the AWS emulator. In time-skipping tests the server's
 * virtual clock is handed to the emulator, so a job that "takes an hour" finishes when the server skips an hour.
 */
export interface Clock {
  /** Milliseconds since the epoch, real or virtual. */
  now(): number;
  /**
   * Virtual clocks that jump (time skipping) may offer these: the emulator schedules a wake-up at the next moment its
   * simulation has something to do (a processing job's minute, an alarm evaluation), so a jump never skips past it,
   * and holds the clock while it delivers an event, so the receiver acts on it before time moves on.
   */
  scheduleAt?(atMs: number, fire: () => void): () => void;
  markBusy?(key: string): void;
  markIdle?(key: string): void;
}
