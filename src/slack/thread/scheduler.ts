/*
 * Sends Slack calls in lanes, each lane paced to one call start per `spacingMs(lane)`: thread posts share a lane
 * per channel (Slack: about one message per second per channel), edits one lane per workspace (chat.update is
 * Tier 3, about 50 per minute). Staying under those limits means the Web API client rarely meets a 429, which
 * would pause its whole queue.
 *
 * Within a lane the highest priority goes first (a build's result before anyone's progress), then the oldest. A
 * call gains one level of priority for every AGING_SLOTS turns of its lane it has waited, so under a steady stream
 * of calls one level above it, a call is late by about that many turns, never starved. A call
 * scheduled with a `replaces` key takes the place of a waiting call with the same key — when a build changes twice
 * before its edit goes out, only the newest state is sent — and never starts while an earlier call with that key is
 * still under way, so edits of one message reach Slack in order.
 *
 * Ours, not a library's: no limiter we know of (p-queue, Bottleneck) replaces a waiting call by key, holds a key back
 * while its previous call runs, or raises a waiting call's priority as it ages; and p-queue's pace is fixed when the
 * queue is made, while a lane's spacing is read at every start (a replica's share changes it).
 */

export interface ScheduledCall<T> {
  /** Calls that share a rate limit: `update` for edits, `post:<channel>` for posts. */
  lane: string;
  /** Higher goes first. */
  priority?: number;
  /** A waiting call with the same key is dropped in favour of this one; its callers get this one's result. */
  replaces?: string;
  call: () => Promise<T>;
}

export interface SlackSchedulerOptions {
  /** The spacing of call starts in a lane; read each time a call starts, so it may change at run time. */
  spacingMs(lane: string): number;
  now?: () => number;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Turns of its lane a call waits to gain one level of priority (75 s of chat.update at Slack's pace). */
export const AGING_SLOTS = 60;

interface Entry {
  lane: string;
  order: number;
  /** When it was first asked for; a call that replaces it keeps this. */
  since: number;
  priority: number;
  key?: string;
  call: () => Promise<unknown>;
  waiters: Waiter[];
}

interface Lane {
  queue: Entry[];
  nextStartAt: number;
  timer?: NodeJS.Timeout;
}

export class SlackScheduler {
  private readonly lanes = new Map<string, Lane>();
  /** Waiting calls by `replaces` key. */
  private readonly waiting = new Map<string, Entry>();
  /** Keys of calls under way. */
  private readonly running = new Set<string>();
  private readonly now: () => number;
  private arrivals = 0;
  private pending = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: SlackSchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  schedule<T>(request: ScheduledCall<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      const priority = request.priority ?? 0;
      const replaced = request.replaces === undefined ? undefined : this.waiting.get(request.replaces);
      if (replaced) {
        // Keeps its place in line (it was asked for first) but sends the newest state.
        replaced.call = request.call;
        replaced.priority = Math.max(replaced.priority, priority);
        replaced.waiters.push(waiter);
      } else {
        const entry: Entry = {
          lane: request.lane,
          order: this.arrivals++,
          since: this.now(),
          priority,
          key: request.replaces,
          call: request.call,
          waiters: [waiter],
        };
        if (entry.key !== undefined) this.waiting.set(entry.key, entry);
        this.lane(request.lane).queue.push(entry);
        this.pending++;
      }
      this.pump(request.lane);
    });
  }

  /** Resolves once nothing is waiting or under way; for tests and shutdown. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Calls waiting in `lane` at `priority` or above (what they earned by waiting not counted): about how many would
   * go before a call of that priority asked for now.
   */
  waitingAtLeast(lane: string, priority: number): number {
    return this.lanes.get(lane)?.queue.filter((entry) => entry.priority >= priority).length ?? 0;
  }

  /**
   * About how long until the waiting call with `key` starts: the calls that go before it in its lane (by priority,
   * then age; what waiting earns not counted), at the lane's spacing. 0 when no call with that key waits.
   */
  expectedStartMs(key: string): number {
    const entry = this.waiting.get(key);
    const lane = entry && this.lanes.get(entry.lane);
    if (!entry || !lane) return 0;
    const ahead = lane.queue.filter(
      (other) => other.priority > entry.priority || (other.priority === entry.priority && other.order < entry.order),
    ).length;
    const spacing = Math.max(0, this.options.spacingMs(entry.lane));
    return Math.max(0, lane.nextStartAt - this.now()) + ahead * spacing;
  }

  /** Calls waiting for their turn (a metric). */
  get backlog(): number {
    let count = 0;
    for (const lane of this.lanes.values()) count += lane.queue.length;
    return count;
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      if (this.lanes.size >= 1000) this.forgetQuietLanes();
      lane = { queue: [], nextStartAt: 0 };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  /** Lanes of channels that have gone quiet keep nothing worth remembering once their spacing has passed. */
  private forgetQuietLanes(): void {
    const now = this.now();
    for (const [name, lane] of this.lanes) {
      if (lane.queue.length === 0 && !lane.timer && lane.nextStartAt <= now) this.lanes.delete(name);
    }
  }

  private pump(name: string): void {
    const lane = this.lanes.get(name);
    if (!lane || lane.timer) return;
    for (;;) {
      const now = this.now();
      if (lane.nextStartAt > now) {
        if (lane.queue.length > 0) {
          lane.timer = setTimeout(() => {
            lane.timer = undefined;
            this.pump(name);
          }, lane.nextStartAt - now);
          lane.timer.unref?.();
        }
        return;
      }
      const index = this.pick(lane, now, AGING_SLOTS * Math.max(0, this.options.spacingMs(name)));
      if (index < 0) {
        // Nothing startable: the lane is empty (forget it, its spacing has passed) or waits for a call under way.
        if (lane.queue.length === 0) this.lanes.delete(name);
        return;
      }
      const [entry] = lane.queue.splice(index, 1) as [Entry];
      lane.nextStartAt = now + Math.max(0, this.options.spacingMs(name));
      this.start(name, entry);
    }
  }

  /** The highest priority (with what waiting earned), then the oldest, among calls whose key has nothing under way. */
  private pick(lane: Lane, now: number, agingMs: number): number {
    const rank = (entry: Entry) => entry.priority + (agingMs > 0 ? Math.floor((now - entry.since) / agingMs) : 0);
    let best = -1;
    let bestRank = -Infinity;
    for (let i = 0; i < lane.queue.length; i++) {
      const entry = lane.queue[i]!;
      if (entry.key !== undefined && this.running.has(entry.key)) continue;
      const entryRank = rank(entry);
      if (best < 0 || entryRank > bestRank || (entryRank === bestRank && entry.order < lane.queue[best]!.order)) {
        best = i;
        bestRank = entryRank;
      }
    }
    return best;
  }

  private start(name: string, entry: Entry): void {
    if (entry.key !== undefined) {
      this.waiting.delete(entry.key);
      this.running.add(entry.key);
    }
    let outcome: Promise<unknown>;
    try {
      outcome = entry.call();
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome
      .then(
        (value) => entry.waiters.forEach((waiter) => waiter.resolve(value)),
        (error: unknown) => entry.waiters.forEach((waiter) => waiter.reject(error)),
      )
      .finally(() => {
        if (entry.key !== undefined) this.running.delete(entry.key);
        this.pending--;
        // A call with the same key may have been waiting for this one to end.
        this.pump(name);
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          waiters.forEach((resolve) => resolve());
        }
      });
  }
}
