/*
 * Background work done in rounds: one at start, then one every interval. Rounds never overlap (asking for one while
 * one runs gets that one), a failed round is reported and the next one runs as usual, and none starts after stop
 * (the store may be closed by then); stop waits for the round under way.
 */

export interface RoundsOptions<T> {
  intervalMs: number;
  /** One round; `stopped` says whether stop was called meanwhile, for a round that does many things. */
  round: (stopped: () => boolean) => Promise<T>;
  /** Told of a round that failed. */
  onError: (error: unknown) => void;
}

export interface Rounds<T> {
  /** One round now (tests, and at start); undefined when it failed or the rounds have stopped. */
  runOnce(): Promise<T | undefined>;
  stop(): Promise<void>;
}

export function startRounds<T>(options: RoundsOptions<T>): Rounds<T> {
  let running: Promise<T | undefined> | undefined;
  let stopped = false;
  const isStopped = () => stopped;

  function runOnce(): Promise<T | undefined> {
    if (stopped) return running ?? Promise.resolve(undefined);
    running ??= options
      .round(isStopped)
      .catch((error: unknown) => {
        options.onError(error);
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const timer = setInterval(() => void runOnce(), options.intervalMs);
  timer.unref();
  void runOnce();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
