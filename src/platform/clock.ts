/** Time as a dependency, so expiry, reminders and polling pace are tested without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
