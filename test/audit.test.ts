import {
  auditFileName,
  auditJsonLines,
  MAX_LOOKBACK_DAYS,
  NOT_RECORDED,
  parseSince,
  sinceDate,
  summarizeAudit,
  type AuditDetails,
} from '../src/audit/audit';
import type { AuditEvent, AuditKind } from '../src/store/store';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const WEEK_AGO = new Date('2025-02-22T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const at = (hoursAfterWeekAgo: number) => new Date(WEEK_AGO.getTime() + hoursAfterWeekAgo * HOUR);

function event(
  kind: AuditKind,
  overrides: Omit<Partial<AuditEvent>, 'detail'> & { detail?: unknown } = {},
): AuditEvent {
  return {
    at: at(1),
    kind,
    actorId: null,
    requestId: null,
    channelId: 'C012BUILDS',
    detail: {},
    ...overrides,
  } as AuditEvent;
}

describe('how far back the report looks (parseSince)', () => {
  it.each([
    ['7d', 7 * DAY, '7 days', '7d'],
    ['24h', 24 * HOUR, '24 hours', '24h'],
    ['30m', 30 * 60_000, '30 minutes', '30m'],
    ['2w', 14 * DAY, '2 weeks', '2w'],
    ['7', 7 * DAY, '7 days', '7d'],
    [' 14 ', 14 * DAY, '14 days', '14d'],
    ['1d', DAY, '1 day', '1d'],
    ['1h', HOUR, '1 hour', '1h'],
    ['7 days', 7 * DAY, '7 days', '7d'],
    ['3 Hours', 3 * HOUR, '3 hours', '3h'],
    ['1week', 7 * DAY, '1 week', '1w'],
    ['90 MIN', 90 * 60_000, '90 minutes', '90m'],
    [`${MAX_LOOKBACK_DAYS}`, MAX_LOOKBACK_DAYS * DAY, '400 days', '400d'],
    ['9600h', 400 * DAY, '9600 hours', '9600h'],
    ['57w', 57 * 7 * DAY, '57 weeks', '57w'],
  ])('reads %j as %d ms ("%s")', (input, milliseconds, text, flag) => {
    expect(parseSince(input)).toEqual({ ok: true, lookback: { milliseconds, text, flag } });
  });

  it.each([
    ['', /how far back/],
    ['   ', /how far back/],
    ['abc', /“abc” is not a period; use a number of days \(7\), or a number with m, h, d or w/],
    ['7y', /“7y” is not a period/],
    ['-3d', /not a period/],
    ['1.5d', /not a period/],
    ['d7', /not a period/],
    ['7 days ago', /not a period/],
    ['0', /longer than zero/],
    ['0h', /longer than zero/],
    ['401', /at most 400 days; “401” is more/],
    ['58w', /at most 400 days/],
    ['9601h', /at most 400 days/],
    ['99999999999999999999999d', /at most 400 days/],
  ])('refuses %j, saying why', (input, message) => {
    const result = parseSince(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('quotes at most 40 characters of what was typed', () => {
    const result = parseSince('x'.repeat(5000));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeLessThan(200);
  });

  it('counts back from now', () => {
    const parsed = parseSince('7d');
    if (!parsed.ok) throw new Error(parsed.message);
    expect(sinceDate(NOW, parsed.lookback)).toEqual(WEEK_AGO);
  });
});

describe('the file name of the exported log', () => {
  it('names the period in UTC, to the minute, with characters any file system takes', () => {
    expect(auditFileName(WEEK_AGO, NOW)).toBe('image-builder-audit-20250222T1200Z-20250301T1200Z.jsonl');
  });
});

describe('the log as JSON Lines', () => {
  const events: AuditEvent[] = [
    event('requested', {
      at: new Date('2025-02-28T09:15:00.123Z'),
      actorId: 'U012ALICE',
      requestId: 'r-1',
      detail: {
        provider: 'aws',
        distribution: 'rhel-9',
        shareTargets: [{ kind: 'aws-account', value: '123456789012' }],
      },
    }),
    event('refused', {
      actorId: 'U034BOB',
      channelId: 'C999OTHER',
      detail: { entryPoint: 'command', reason: 'Only <#C012BUILDS> may build.\nAsk there.' },
    }),
    event('finished', {
      requestId: 'r-1',
      detail: { outcome: 'success', note: 'line\u2028separator\u2029and\u0085next \u009b[31m' },
    }),
  ];

  it('writes one JSON object per event, one per line, each line ending in a newline', () => {
    const text = auditJsonLines(events);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
  });

  it('reads back as the events were recorded (at as an ISO string)', () => {
    const lines = auditJsonLines(events).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(
      events.map((e) => ({
        at: e.at.toISOString(),
        kind: e.kind,
        actor: e.actorId,
        request: e.requestId,
        channel: e.channelId,
        detail: e.detail,
      })),
    );
  });

  it('keeps each event on its line for readers that also split at U+2028, U+2029 and NEL', () => {
    const text = auditJsonLines(events);
    expect(text).not.toMatch(/[\u0085\u009b\u2028\u2029]/);
    expect(text.split(/\r\n|[\n\r\u0085\u2028\u2029]/).filter(Boolean)).toHaveLength(3);
  });

  it('writes nothing for no events', () => {
    expect(auditJsonLines([])).toBe('');
  });

  it('still writes the other events when one detail cannot be written as JSON', () => {
    const cyclic: Record<string, unknown> = { reason: 'loops' };
    cyclic.self = cyclic;
    const lines = auditJsonLines([event('refused', { detail: cyclic }), events[0]!])
      .trimEnd()
      .split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: 'refused', detail: { unreadable: expect.any(String) } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ kind: 'requested', request: 'r-1' });
  });
});

describe('the summary', () => {
  const requested = (
    requestId: string,
    actorId: string,
    detail: AuditDetails['requested'] | Record<string, unknown>,
    hours = 2,
  ) => event('requested', { requestId, actorId, detail, at: at(hours) });
  const finished = (requestId: string, detail: Record<string, unknown>, hours = 30) =>
    event('finished', { requestId, detail, at: at(hours) });
  const refused = (actorId: string, reason: unknown, hours = 5) =>
    event('refused', { actorId, detail: { entryPoint: 'command', reason }, at: at(hours) });
  const IN_FLIGHT_LIMIT = 'You have 3 builds in flight; the limit is 3 (policy limits.in_flight).';
  const CHANNEL_ONLY = 'Images are requested in <#C012BUILDS> only (policy channels).';

  const week: AuditEvent[] = [
    // Before the period: not counted at all.
    requested(
      'r-0',
      'U000OLD',
      { provider: 'aws', shareTargets: [{ kind: 'aws-account', value: '999999999999' }] },
      -1,
    ),
    requested('r-1', 'U012ALICE', {
      provider: 'aws',
      distribution: 'rhel-9',
      shareTargets: [
        { kind: 'aws-account', value: '123456789012' },
        { kind: 'aws-account', value: '210987654321' },
      ],
    }),
    event('submitted', {
      requestId: 'r-1',
      detail: { composeId: 'c-1', shareTargets: [{ kind: 'aws-account', value: '123456789012' }] },
    }),
    finished('r-1', { outcome: 'success' }),
    requested('r-2', 'U034BOB', {
      provider: 'azure',
      shareTargets: [{ kind: 'azure-subscription', value: '4e5d8b2c-ab24-4413-90c5-612306e809e2' }],
    }),
    event('rejected', { requestId: 'r-2', detail: { kind: 'forbidden', detail: 'Quota exceeded' } }),
    requested('r-3', 'U012ALICE', {
      provider: 'gcp',
      shareTargets: [{ kind: 'gcp-principal', value: 'group:ops@example.com' }],
    }),
    finished('r-3', { outcome: 'failure' }),
    requested('r-4', 'U012ALICE', { provider: 'aws', shareTargets: [{ kind: 'aws-account', value: '123456789012' }] }),
    // Spelled as the row's status: read all the same.
    finished('r-4', { status: 'success' }),
    requested('r-5', 'U056CAROL', { provider: 'guest-image', shareTargets: [] }),
    refused('U056CAROL', CHANNEL_ONLY),
    refused('U078DAVE', CHANNEL_ONLY),
    refused('U056CAROL', IN_FLIGHT_LIMIT),
    event('reminded', { requestId: 'r-1' }),
    event('expired', { requestId: 'r-1' }),
    event('defaults-cleared', { actorId: 'U012ALICE', detail: { removed: 2 } }),
    // The end of r-1 written twice: one result.
    finished('r-1', { outcome: 'success' }, 31),
    // Odd details: counted, never thrown on.
    requested('r-6', 'U090EVE', { provider: 42, shareTargets: 'everyone' }),
    requested('r-7', 'U090EVE', {
      provider: 'aws',
      shareTargets: [
        { kind: 'aws-account', value: '123456789012' },
        { kind: 'oci-tenancy', value: 'ocid1' },
        'nonsense',
        null,
      ],
    }),
    event('refused', { actorId: 'U090EVE', detail: null }),
    finished('r-8', { outcome: 'exploded' }),
    event('finished', { requestId: 'r-9', detail: [1, 2, 3] }),
  ];
  const inPeriod = week.length - 1;

  const summary = summarizeAudit(week, { since: WEEK_AGO, now: NOW });

  it('covers the period asked for, counting only events in it', () => {
    expect(summary.since).toEqual(WEEK_AGO);
    expect(summary.now).toEqual(NOW);
    expect(summary.total).toBe(inPeriod);
  });

  it('counts events by kind', () => {
    expect(summary.byKind).toEqual({
      requested: 7,
      submitted: 1,
      finished: 6,
      rejected: 1,
      refused: 4,
      reminded: 1,
      expired: 1,
      'defaults-cleared': 1,
    });
  });

  it('counts requests by cloud, most first, and those that did not say as not recorded', () => {
    expect(summary.requestsByProvider).toEqual({
      top: [
        { value: 'aws', count: 3 },
        { value: NOT_RECORDED, count: 1 },
        { value: 'azure', count: 1 },
        { value: 'gcp', count: 1 },
        { value: 'guest-image', count: 1 },
      ],
      distinct: 5,
      total: 7,
    });
  });

  it('groups refusals by reason, most frequent first', () => {
    expect(summary.refusals).toEqual({
      top: [
        { value: CHANNEL_ONLY, count: 2 },
        { value: NOT_RECORDED, count: 1 },
        { value: IN_FLIGHT_LIMIT, count: 1 },
      ],
      distinct: 3,
      total: 4,
    });
  });

  it('counts who images were handed to, from the requests, each cloud apart', () => {
    expect(summary.shareTargets.awsAccounts).toEqual({
      top: [
        { value: '123456789012', count: 3 },
        { value: '210987654321', count: 1 },
      ],
      distinct: 2,
      total: 4,
    });
    expect(summary.shareTargets.azureSubscriptions.top).toEqual([
      { value: '4e5d8b2c-ab24-4413-90c5-612306e809e2', count: 1 },
    ]);
    expect(summary.shareTargets.gcpPrincipals.top).toEqual([{ value: 'group:ops@example.com', count: 1 }]);
  });

  it('counts how requests ended, once per request', () => {
    expect(summary.results).toEqual({ success: 2, failure: 1, deleted: 0, rejected: 1 });
  });

  it('counts the different people who asked for builds', () => {
    expect(summary.distinctRequesters).toBe(4);
  });

  it('counts the events whose details it could not read', () => {
    // r-6 (provider and share targets), r-7 (two unreadable targets), the refusal without detail, r-8 and r-9.
    expect(summary.unreadableDetails).toBe(5);
  });

  it('keeps the most frequent values of each list, and says how many there were', () => {
    const reasons = Array.from({ length: 12 }, (_, i) => `reason ${String(i).padStart(2, '0')}`);
    const events = reasons.flatMap((reason, i) => Array.from({ length: i + 1 }, () => refused('U1', reason)));
    const { refusals } = summarizeAudit(events, { since: WEEK_AGO, now: NOW, top: 3 });
    expect(refusals.top).toEqual([
      { value: 'reason 11', count: 12 },
      { value: 'reason 10', count: 11 },
      { value: 'reason 09', count: 10 },
    ]);
    expect(refusals.distinct).toBe(12);
    expect(refusals.total).toBe(78);
  });

  it('counts a build whose compose was deleted at Image Builder apart from the failures', () => {
    const finished = (requestId: string, outcome: string) =>
      event('finished', { requestId, detail: { outcome, composeId: 'c' } });
    const ended = summarizeAudit([finished('r-1', 'deleted'), finished('r-2', 'failure')], {
      since: WEEK_AGO,
      now: NOW,
    });
    expect(ended.results).toEqual({ success: 0, failure: 1, deleted: 1, rejected: 0 });
    expect(ended.unreadableDetails).toBe(0);
  });

  it('summarises nothing as zeros', () => {
    const empty = summarizeAudit([], { since: WEEK_AGO, now: NOW });
    expect(empty).toMatchObject({
      total: 0,
      byKind: {},
      results: { success: 0, failure: 0, deleted: 0, rejected: 0 },
      distinctRequesters: 0,
      unreadableDetails: 0,
      refusals: { top: [], distinct: 0, total: 0 },
    });
  });
});
