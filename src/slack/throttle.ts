/*
 * Spaces calls that share a key at least `intervalMs` apart, in order of arrival. Slack allows about one message
 * per second per channel and ~50 chat.update calls per minute; staying under that means the Web API client rarely
 * meets a 429, which would pause its whole queue.
 */
export class Throttle {
  private readonly nextStart = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async run<T>(key: string, intervalMs: number, call: () => Promise<T>): Promise<T> {
    const now = this.now();
    const startAt = Math.max(now, this.nextStart.get(key) ?? 0);
    this.nextStart.set(key, startAt + intervalMs);
    if (this.nextStart.size > 1000) this.forgetPast(now);
    if (startAt > now) await this.sleep(startAt - now);
    return call();
  }

  private forgetPast(now: number) {
    for (const [key, at] of this.nextStart) if (at <= now) this.nextStart.delete(key);
  }
}
