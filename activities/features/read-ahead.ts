/**
 * Reads a chunk's rows ahead of the batch writer, into a bounded buffer: a batch is taken from memory whenever a
 * request completes, instead of after a wait on the source stream per row (profiled: the per-row wait on the
 * stream made each request cost the writer a third more CPU than the same requests from memory). At most `limit`
 * rows are held, so memory stays flat however long the chunk; the reader stops at `total` rows or the source's end.
 */
export interface ReadAhead<T> {
  /** Up to `n` rows, in order; fewer only at the end (empty once there are no more). A read error surfaces here. */
  take(n: number): Promise<T[]>;
  /** Stops reading and closes the source (after the read in progress, if any). */
  close(): Promise<void>;
}

export function readAhead<T>(source: AsyncIterator<T>, opts: { limit: number; total: number }): ReadAhead<T> {
  const buffered: T[] = [];
  let head = 0;
  let read = 0;
  let ended = false;
  let closed = false;
  let failure: { err: unknown } | undefined;
  let wakeReader: (() => void) | undefined;
  let wakeTaker: (() => void) | undefined;
  let wanted = 0;
  const size = () => buffered.length - head;
  const notifyTaker = () => {
    const w = wakeTaker;
    wakeTaker = undefined;
    w?.();
  };

  const pump = (async () => {
    try {
      while (!closed && read < opts.total) {
        if (size() >= opts.limit) {
          await new Promise<void>((resolve) => (wakeReader = resolve));
          continue;
        }
        const next = await source.next();
        if (next.done) break;
        buffered.push(next.value);
        read += 1;
        if (wakeTaker && size() >= wanted) notifyTaker();
      }
    } catch (err) {
      failure = { err };
    } finally {
      ended = true;
      notifyTaker();
    }
  })();

  return {
    async take(n) {
      wanted = n;
      while (size() < n && !ended) await new Promise<void>((resolve) => (wakeTaker = resolve));
      if (size() === 0 && failure) throw failure.err;
      const out = buffered.slice(head, head + n);
      head += out.length;
      // Compact now and then, so the buffer does not grow with the chunk.
      if (head > opts.limit) {
        buffered.splice(0, head);
        head = 0;
      }
      if (wakeReader && size() <= opts.limit / 2) {
        const w = wakeReader;
        wakeReader = undefined;
        w();
      }
      return out;
    },
    async close() {
      closed = true;
      const w = wakeReader;
      wakeReader = undefined;
      w?.();
      await source.return?.(undefined);
      await pump;
    },
  };
}
