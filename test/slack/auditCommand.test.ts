import { WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { auditJsonLines, parseSince, summarizeAudit, type Lookback } from '../../src/audit/audit';
import {
  auditSubcommand,
  type AuditSlackClient,
  type AuditSubcommandDeps,
} from '../../src/slack/listeners/commands/auditCommand';
import type { Responder } from '../../src/slack/responseUrl';
import { auditReportMessage, type AuditFileDelivery } from '../../src/slack/views/auditReport';
import type { SlackMessage } from '../../src/slack/views/threadMessages';
import type { AuditEvent, AuditLog } from '../../src/store/store';
import { assertSafeMarkup } from './views/mrkdwnSafety';
import { assertMessageWithinSlackLimits, visibleTexts } from './views/slackLimits';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DAY = 86_400_000;
const ADMIN = 'U012ADMIN';
const SOMEONE = 'U034BOB';
const DM = 'D0ADMINDM1';
const RESPONSE_URL = 'https://hooks.slack.com/commands/T1/1234/abcdef';
const FILE_NAME = 'image-builder-audit-20250222T1200Z-20250301T1200Z.jsonl';

const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

function lookback(text: string): Lookback {
  const parsed = parseSince(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.lookback;
}

const EVENTS: AuditEvent[] = [
  {
    at: daysAgo(20),
    kind: 'requested',
    actorId: 'U000OLD',
    requestId: 'r-0',
    channelId: 'C012BUILDS',
    detail: { provider: 'gcp', shareTargets: [{ kind: 'gcp-principal', value: 'user:old@example.com' }] },
  },
  {
    at: daysAgo(3),
    kind: 'requested',
    actorId: 'U056ALICE',
    requestId: 'r-1',
    channelId: 'C012BUILDS',
    detail: { provider: 'aws', shareTargets: [{ kind: 'aws-account', value: '123456789012' }] },
  },
  {
    at: daysAgo(2),
    kind: 'refused',
    actorId: SOMEONE,
    requestId: null,
    channelId: 'C999OTHER',
    detail: { entryPoint: 'command', reason: 'Images are requested in <#C012BUILDS> only.' },
  },
  {
    at: daysAgo(1),
    kind: 'finished',
    actorId: null,
    requestId: 'r-1',
    channelId: 'C012BUILDS',
    detail: { outcome: 'success' },
  },
];

/** The audit log as the store answers it: events at or after `since`, oldest first. */
function fakeAuditLog(events: readonly AuditEvent[] = EVENTS): {
  listAudit: jest.Mock<ReturnType<AuditLog['listAudit']>, [Date]>;
} {
  return {
    listAudit: jest.fn(async (since: Date) =>
      events.filter((e) => e.at >= since).sort((a, b) => a.at.getTime() - b.at.getTime()),
    ),
  };
}

/** Slack's Web API as this subcommand uses it: posting to a user id answers with the DM's channel id. */
function fakeSlackClient() {
  return {
    chat: {
      postMessage: jest.fn(async (_args: { channel: string; text: string }) => ({
        ok: true,
        channel: DM,
        ts: '1740830400.000100',
      })),
    },
    files: {
      uploadV2: jest.fn(async (_args: Parameters<AuditSlackClient['files']['uploadV2']>[0]) => ({
        ok: true,
        files: [],
      })),
    },
  } satisfies AuditSlackClient;
}

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

function world(options: { admins?: readonly string[]; events?: readonly AuditEvent[] } = {}) {
  const admins = options.admins ?? [ADMIN];
  const audit = fakeAuditLog(options.events);
  const client = fakeSlackClient();
  const respond = jest.fn<ReturnType<Responder>, Parameters<Responder>>(async () => undefined);
  const { logger, lines } = recordingLogger();
  const deps: AuditSubcommandDeps = {
    audit,
    isAdmin: (userId) => admins.includes(userId),
    adminConfigured: admins.length > 0,
    clock: { now: () => NOW },
    logger,
    respond,
  };
  const run = (userId: string, args: string[] = []) =>
    auditSubcommand(deps)({
      command: { command: '/image-builder', user_id: userId, response_url: RESPONSE_URL },
      args,
      client,
    });
  /** The one answer given through the response_url, as a person would read it. */
  const answer = (): string => {
    expect(respond).toHaveBeenCalledTimes(1);
    const [url, message] = respond.mock.calls[0]!;
    expect(url).toBe(RESPONSE_URL);
    return typeof message === 'string' ? message : visibleTexts(message).join('\n');
  };
  const answeredMessage = (): SlackMessage => {
    const message = respond.mock.calls[0]?.[1];
    if (typeof message !== 'object') throw new Error(`expected a Block Kit answer, got ${JSON.stringify(message)}`);
    return message;
  };
  return { audit, client, respond, lines, run, answer, answeredMessage };
}

describe('/image-builder audit', () => {
  it('gives an admin the summary of the last 7 days, ephemerally', async () => {
    const w = world();
    await w.run(ADMIN);

    expect(w.audit.listAudit).toHaveBeenCalledWith(daysAgo(7));
    const message = w.answeredMessage();
    assertMessageWithinSlackLimits(message);
    const text = w.answer();
    expect(text).toContain('the last 7 days');
    expect(text).toMatch(/\*3\* events/);
    expect(text).toContain('*1* succeeded');
    expect(text).toContain('Images are requested in &lt;#C012BUILDS&gt; only.');
    expect(text).toContain('`123456789012` — 1 build');
    expect(text).not.toContain('user:old@example.com');
  });

  it('sends the whole log of the period as a JSON Lines file in a DM with the admin', async () => {
    const w = world();
    await w.run(ADMIN);

    expect(w.client.chat.postMessage).toHaveBeenCalledWith(expect.objectContaining({ channel: ADMIN }));
    expect(w.client.files.uploadV2).toHaveBeenCalledTimes(1);
    const upload = w.client.files.uploadV2.mock.calls[0]![0];
    // Files are shared in conversations: the DM's id, not the user's.
    expect(upload.channel_id).toBe(DM);
    expect(upload.filename).toBe(FILE_NAME);
    expect(upload.content).toBe(auditJsonLines(EVENTS.slice(1)));
    expect(upload.initial_comment).toContain('JSON');
    expect(w.answer()).toContain(`The full log is in our DM as \`${FILE_NAME}\``);
  });

  it('looks back as many days as the admin says, or a period such as 24h', async () => {
    const w = world();
    await w.run(ADMIN, ['30']);
    expect(w.audit.listAudit).toHaveBeenCalledWith(daysAgo(30));
    expect(w.answer()).toContain('the last 30 days');
    expect(w.client.files.uploadV2.mock.calls[0]![0].filename).toBe(
      'image-builder-audit-20250130T1200Z-20250301T1200Z.jsonl',
    );

    const hours = world();
    await hours.run(ADMIN, ['24h']);
    expect(hours.audit.listAudit).toHaveBeenCalledWith(daysAgo(1));
  });

  it('reads "7 days" typed as two words', async () => {
    const w = world();
    await w.run(ADMIN, ['7', 'days']);
    expect(w.audit.listAudit).toHaveBeenCalledWith(daysAgo(7));
  });

  it.each([[['401']], [['0']], [['soon']], [['7', 'days', 'please']]])(
    'explains how to give the period when it is %j',
    async (args) => {
      const w = world();
      await w.run(ADMIN, args);
      expect(w.answer()).toMatch(
        /For example `\/image-builder audit 30` covers the last 30 days; 24h and 2w work too\./,
      );
      expect(w.audit.listAudit).not.toHaveBeenCalled();
      expect(w.client.chat.postMessage).not.toHaveBeenCalled();
    },
  );

  it('escapes what was typed when it quotes it back', async () => {
    const w = world();
    await w.run(ADMIN, ['<!channel>']);
    assertSafeMarkup([w.answer()], []);
  });

  it('refuses someone who is not an admin, and shows them nothing', async () => {
    const w = world();
    await w.run(SOMEONE, ['30']);
    expect(w.answer()).toBe('The audit report is for the bot’s admins only.');
    expect(w.audit.listAudit).not.toHaveBeenCalled();
    expect(w.client.chat.postMessage).not.toHaveBeenCalled();
    expect(w.client.files.uploadV2).not.toHaveBeenCalled();
    expect(w.lines).toContainEqual(
      expect.objectContaining({ requester: SOMEONE, msg: expect.stringMatching(/not an admin/) }),
    );
  });

  it('says how to name admins when the policy names none', async () => {
    const w = world({ admins: [] });
    await w.run(ADMIN);
    expect(w.answer()).toMatch(/admin-only commands need admins named in the policy file \(POLICY_FILE\)/);
    expect(w.audit.listAudit).not.toHaveBeenCalled();
  });

  it('still gives the summary when the file cannot be sent, says so, and logs why', async () => {
    const w = world();
    w.client.files.uploadV2.mockRejectedValue(
      Object.assign(new Error('An API error occurred: missing_scope'), { data: { error: 'missing_scope' } }),
    );
    await w.run(ADMIN);

    assertMessageWithinSlackLimits(w.answeredMessage());
    const text = w.answer();
    expect(text).toMatch(/\*3\* events/);
    expect(text).toContain('I could not send you the full log as a file in a DM (the reason is in the bot’s log).');
    expect(text).toContain('`image-builder-bot audit --since 7d`');
    expect(w.lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: expect.stringMatching(/could not send the audit log/),
        err: expect.objectContaining({ message: expect.stringContaining('missing_scope') }),
      }),
    );
  });

  it('says the file was not sent when Slack opens no DM', async () => {
    const w = world();
    w.client.chat.postMessage.mockResolvedValue({ ok: true, channel: undefined as unknown as string, ts: '1' });
    await w.run(ADMIN);
    expect(w.client.files.uploadV2).not.toHaveBeenCalled();
    expect(w.answer()).toContain('I could not send you the full log');
  });

  it('sends no file when nothing happened in the period, and says so', async () => {
    const w = world({ events: [] });
    await w.run(ADMIN);
    expect(w.client.chat.postMessage).not.toHaveBeenCalled();
    const text = w.answer();
    expect(text).toContain('Nothing was recorded in this period.');
    expect(text).toContain('No file was sent: there are no events in this period.');
    assertMessageWithinSlackLimits(w.answeredMessage());
  });

  it('apologises when the audit log cannot be read', async () => {
    const w = world();
    w.audit.listAudit.mockRejectedValue(new Error('SQLITE_BUSY'));
    await w.run(ADMIN);
    expect(w.answer()).toBe('I could not read the audit log just now; try again in a minute.');
    expect(w.lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'could not read the audit log' }));
  });

  it('does not throw when the response_url no longer answers', async () => {
    const w = world();
    w.respond.mockRejectedValue(new Error('Slack answered 404 to the response_url'));
    await expect(w.run(ADMIN)).resolves.toBeUndefined();
    expect(w.lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'could not answer through the response_url' }),
    );
  });

  it('takes the client Bolt gives listeners', () => {
    // Compile-time: the Web API client fits what the subcommand calls.
    const client: AuditSlackClient = new WebClient('xoxb-not-used');
    expect(typeof client.files.uploadV2).toBe('function');
  });
});

describe('the audit report message', () => {
  const since = daysAgo(7);
  const SENT: AuditFileDelivery = { kind: 'sent', filename: FILE_NAME };

  /** A week with `n` distinct refusal reasons and share targets, each `size` characters long. */
  function busyWeek(n: number, value: (i: number) => string): AuditEvent[] {
    return Array.from({ length: n }, (_, i): AuditEvent[] => [
      {
        at: daysAgo(1),
        kind: 'refused',
        actorId: `U${i}`,
        requestId: null,
        channelId: 'C1',
        detail: { reason: value(i) },
      },
      {
        at: daysAgo(1),
        kind: 'requested',
        actorId: `U${i}`,
        requestId: `r-${i}`,
        channelId: 'C1',
        detail: {
          provider: value(i),
          shareTargets: [
            { kind: 'aws-account', value: value(i) },
            { kind: 'azure-subscription', value: value(i) },
            { kind: 'gcp-principal', value: value(i) },
          ],
        },
      },
    ]).flat();
  }

  it('stays within Slack’s limits with many refusal reasons and long values', () => {
    const events = busyWeek(300, (i) => `${i} ${'<!channel> & ```x``` '.repeat(400)}`);
    for (const delivery of [SENT, { kind: 'failed' } as const, { kind: 'no-events' } as const]) {
      const message = auditReportMessage({
        summary: summarizeAudit(events, { since, now: NOW, top: 500 }),
        lookback: lookback('400d'),
        delivery,
      });
      assertMessageWithinSlackLimits(message);
      assertSafeMarkup(visibleTexts(message), []);
      expect(visibleTexts(message).join('').length).toBeLessThan(10_000);
    }
  });

  it('names the builds whose compose was deleted at Image Builder, when there were some', () => {
    const finished = (requestId: string, outcome: string): AuditEvent => ({
      at: daysAgo(1),
      kind: 'finished',
      actorId: null,
      requestId,
      channelId: 'C1',
      detail: { outcome },
    });
    const summaryOf = (events: AuditEvent[]) => summarizeAudit(events, { since, now: NOW });
    const overview = (events: AuditEvent[]) =>
      visibleTexts(auditReportMessage({ summary: summaryOf(events), lookback: lookback('7d'), delivery: SENT })).join(
        '\n',
      );
    expect(overview([finished('r-1', 'success'), finished('r-2', 'deleted')])).toContain(
      'Builds: *1* succeeded · *0* failed · *1* deleted at Image Builder · *0* rejected by Image Builder',
    );
    expect(overview([finished('r-1', 'success')])).toContain(
      'Builds: *1* succeeded · *0* failed · *0* rejected by Image Builder',
    );
  });

  it('lists the ten most frequent reasons and says how many others there were', () => {
    const events = busyWeek(14, (i) => `reason ${String(i).padStart(2, '0')}`);
    const text = visibleTexts(
      auditReportMessage({
        summary: summarizeAudit(events, { since, now: NOW, top: 50 }),
        lookback: lookback('7d'),
        delivery: SENT,
      }),
    ).join('\n');
    expect(text).toContain('*Refusals (14), by reason:*');
    expect(text).toContain('• *1×* reason 09');
    expect(text).not.toContain('reason 10');
    expect(text).toContain('…and 4 other reasons');
    expect(text).toContain('*Shared with AWS accounts (14):*');
    expect(text).toContain('…and 4 more');
  });

  it('stays within Slack’s limits and escapes whatever the log holds', () => {
    const HOSTILE = [
      '<!channel>',
      '<@U999EVE>',
      '&',
      '<',
      '>',
      '```',
      '`',
      '|',
      '*',
      '\n',
      '\u2028',
      '<https://evil.example|click>',
    ];
    const anyText = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc
        .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 3 })), { maxLength: 40 })
        .map((parts) => parts.join('')),
      fc
        .tuple(fc.constantFrom(...HOSTILE, 'a', '😀'), fc.integer({ min: 500, max: 5000 }))
        .map(([s, n]) => s.repeat(n)),
    );
    const anyEvent: fc.Arbitrary<AuditEvent> = fc.record({
      at: fc.integer({ min: 0, max: 7 * DAY - 1 }).map((ms) => new Date(NOW.getTime() - ms)),
      kind: fc.constantFrom('requested', 'refused', 'finished', 'rejected', 'submitted', 'expired') as fc.Arbitrary<
        AuditEvent['kind']
      >,
      actorId: fc.option(anyText, { nil: null }),
      requestId: fc.option(anyText, { nil: null }),
      channelId: fc.constant(null),
      detail: fc.record({
        provider: anyText,
        reason: anyText,
        outcome: fc.constantFrom('success', 'failure', 'rejected', 'odd'),
        shareTargets: fc.array(
          fc.record({ kind: fc.constantFrom('aws-account', 'azure-subscription', 'gcp-principal'), value: anyText }),
          { maxLength: 5 },
        ),
      }),
    });
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        const message = auditReportMessage({
          summary: summarizeAudit(events, { since, now: NOW }),
          lookback: lookback('7d'),
          delivery: SENT,
        });
        assertMessageWithinSlackLimits(message);
        assertSafeMarkup(visibleTexts(message), []);
      }),
      { numRuns: 150 },
    );
  });
});
