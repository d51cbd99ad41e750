import { createLogger } from '../../src/platform/logger';
import { startRetention, type Retention } from '../../src/tracking/retention';
import { StoreError } from '../../src/store/rows';
import type { PurgeCounts } from '../../src/store/store';
import { eventually } from '../support/eventually';

/* The purge timer: what it asks the store to delete, what it logs, and that a failed purge is tried again. */

const NOW = new Date('2026-12-02T10:00:00.000Z');
const DAY = 24 * 3600_000;

let retention: Retention | undefined;
afterEach(() => retention?.stop());

function setUp(answers: (() => Promise<PurgeCounts>)[]) {
  const cutoffs: Date[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    secrets: [],
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const store = {
    purgeBefore: (before: Date) => {
      cutoffs.push(before);
      return (answers.shift() ?? (async () => ({ builds: 0, auditEvents: 0 })))();
    },
  };
  retention = startRetention({ store, clock: { now: () => NOW }, logger, keepMs: 30 * DAY, intervalMs: 3600_000 });
  return { cutoffs, lines };
}

it('purges at start what is older than the retention period, and logs the counts', async () => {
  const { cutoffs, lines } = setUp([async () => ({ builds: 4, auditEvents: 17 })]);

  await retention!.runOnce();

  expect(cutoffs[0]).toEqual(new Date('2026-11-02T10:00:00.000Z'));
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'info',
      builds: 4,
      auditEvents: 17,
      before: '2026-11-02T10:00:00.000Z',
      retentionDays: 30,
    }),
  );
});

it('logs a failed purge as a warning and purges at the next round', async () => {
  const { lines } = setUp([
    async () => {
      throw new StoreError('unavailable', 'Build-request database bot.sqlite cannot be written: the disk is full');
    },
    async () => ({ builds: 1, auditEvents: 0 }),
  ]);
  // The round started with the timer fails; the next one, asked for here, succeeds.
  const warning = await eventually(() => lines.find((line) => line.level === 'warn'), {
    description: 'the failed purge to be logged',
  });

  expect(await retention!.runOnce()).toEqual({ builds: 1, auditEvents: 0 });
  expect(warning).toMatchObject({ msg: 'retention: the purge failed; will try again' });
});
