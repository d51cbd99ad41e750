import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import Database from 'better-sqlite3';
import type { AddressInfo } from 'node:net';
import { runCli } from '../../src/cli/program';
import { systemClock } from '../../src/platform/clock';
import { blocksText } from '../../src/demo/fakes/blockKit';
import { serviceErrors } from '../fakes/imageBuilderService';
import type { FakeSlackCall } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { startHarness, type Harness } from './harness';

/*
 * The audit trail as an admin meets it: builds, a build Image Builder refused for quota, and a request the policy
 * refused are recorded as they happen; `/image-builder audit 7` answers with a summary and sends the whole log as a
 * JSON Lines file to the admin's DM (files.uploadV2: an upload URL, a POST of the bytes, then completion); and the
 * CLI prints the same events from the same database.
 */

const ADMIN = 'U0ADMIN1';
const OUTSIDER = 'U0OUTSIDER2';
const POLICY = `admins: [${ADMIN}]\nrequesters:\n  users: [${ADMIN}]\n`;
const FILE_ID = 'F0AUDITLOG1';
const QUOTA = 'Quota of 20 builds per 30 days exceeded';

let h: Harness;
let uploads: Awaited<ReturnType<typeof startUploadServer>> | undefined;
afterEach(async () => {
  await h?.close();
  await uploads?.close();
  uploads = undefined;
});

/** Stands in for files.slack.com: records what the client uploads to the URL files.getUploadURLExternal handed out. */
async function startUploadServer() {
  const received: { path: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${body.length}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (fileId: string) => `http://127.0.0.1:${port}/upload/v1/${fileId}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Answers the two Web API steps of files.uploadV2 as Slack does, with the upload going to the loopback server. */
async function acceptFileUploads() {
  uploads = await startUploadServer();
  const uploadUrl = uploads.url(FILE_ID);
  h.slack.on('files.getUploadURLExternal', { ok: true, upload_url: uploadUrl, file_id: FILE_ID });
  h.slack.on('files.completeUploadExternal', (call) => ({
    ok: true,
    files: [{ id: FILE_ID, name: String(call.args.channel_id), title: 'audit log' }],
  }));
}

/** The text of the file as uploaded: the client sends it as the `body` part of a multipart form. */
async function uploadedText(upload: { headers: IncomingHttpHeaders; body: Buffer }): Promise<string> {
  const contentType = String(upload.headers['content-type']);
  if (!contentType.startsWith('multipart/form-data')) {
    throw new Error(
      `The upload was sent as ${contentType}, not a multipart form: ${JSON.stringify(upload.body.toString('utf8').slice(0, 80))}`,
    );
  }
  const form = await new Response(new Uint8Array(upload.body), { headers: { 'content-type': contentType } }).formData();
  const part = form.get('body');
  if (!part || typeof part === 'string') throw new Error('the upload has no file part named body');
  return part.text();
}

const answerText = (call: FakeSlackCall) => `${String(call.args.text ?? '')}\n${blocksText(call.args.blocks)}`;

/** The ephemeral answer posted to the response_url of the `n`th command run through the harness. */
const commandAnswer = (n: number) =>
  h.slack.waitForCall('response_url', (c) => c.responseUrlId === `command-${n}`, { timeoutMs: 10_000 });

let commandsRun = 0;
async function command(text: string, user = ADMIN, channel = 'C1') {
  commandsRun += 1;
  const ack = await h.command(text, { user_id: user, channel_id: channel });
  expect(ack.status).toBe(200);
  return commandsRun;
}

/** Orders an AWS image as the admin in C1 and waits until its request reached its end in the store. */
async function orderAws(accounts: string, end: 'done' | 'rejected') {
  const opened = h.slack.callsTo('views.open').length;
  await command('aws');
  const view = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the form' });
  const submitted = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: accounts }, ADMIN, view);
  expect(submitted.text).toBe('');
  await eventually(
    async () =>
      (await h.store().listNewest({ requesterId: ADMIN, limit: 10 })).filter((r) => r.state === end).length > 0,
    { timeoutMs: 15_000, description: `a request to be ${end}` },
  );
}

/** `image-builder-bot audit --since <period>` over the harness's database: what it prints. */
async function cliAudit(since: string): Promise<string> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exitCode = await runCli(['audit', '--since', since], {
    env: { DATABASE_URL: `sqlite://${h.databasePath}` },
    workingDirectory: '/',
    io: { stdout: { write: (s: string) => stdout.push(s) }, stderr: { write: (s: string) => stderr.push(s) } },
    clock: systemClock,
    sleep: async () => undefined,
  });
  expect(stderr.join('')).toBe('');
  expect(exitCode).toBe(0);
  return stdout.join('');
}

async function auditKinds() {
  return (await h.store().listAudit(new Date(0))).map((e) => e.kind).sort();
}

describe('the audit log', () => {
  beforeEach(() => {
    commandsRun = 0;
  });

  it('records a build, a quota refusal and a policy refusal, and gives the admin a summary and the JSON Lines', async () => {
    h = await startHarness({ policy: POLICY });
    await orderAws('123456789012\n210987654321', 'done');
    h.imageBuilder.fail(1, 403, serviceErrors(403, QUOTA), { method: 'POST' });
    await orderAws('123456789012', 'rejected');
    const refusedCommand = await command('aws', OUTSIDER, 'C2');
    const refusal = answerText(await commandAnswer(refusedCommand));
    expect(refusal).toContain('may request images');
    const expectedKinds = ['finished', 'refused', 'rejected', 'requested', 'requested', 'submitted'];
    await eventually(async () => JSON.stringify(await auditKinds()) === JSON.stringify(expectedKinds), {
      description: 'every event to be recorded',
    });

    await acceptFileUploads();
    const report = await commandAnswer(await command('audit 7'));

    // The summary, for the admin's eyes only.
    expect(report.args.response_type).toBe('ephemeral');
    const summary = answerText(report);
    expect(summary).toContain('Audit report — the last 7 days');
    expect(summary).toContain('*6* events · 1 person asked for builds');
    expect(summary).toContain('Builds: *1* succeeded · *0* failed · *1* rejected by Image Builder');
    expect(summary).toContain('*Requests by cloud:* aws 2');
    expect(summary).toContain('*Refusals (1), by reason:*');
    expect(summary).toContain(`• *1×* Only &lt;@${ADMIN}&gt; may request images (policy requesters).`);
    expect(summary).toMatch(
      /\*Shared with AWS accounts \(2\):\*\n• `123456789012` — 2 builds\n• `210987654321` — 1 build/,
    );
    expect(summary).toMatch(/The full log is in our DM as `image-builder-audit-\d{8}T\d{4}Z-\d{8}T\d{4}Z\.jsonl`/);

    // The whole log, as a file in a DM with the admin: a note, then files.uploadV2's three steps.
    const dm = h.slack.dmChannel(ADMIN);
    expect(h.slack.messages(dm).map((m) => m.text)).toEqual([
      'Here is the image-builder audit log you asked for: the last 7 days, 6 events.',
    ]);
    const [asked] = h.slack.callsTo('files.getUploadURLExternal');
    const filename = String(asked!.args.filename);
    expect(filename).toMatch(/^image-builder-audit-\d{8}T\d{4}Z-\d{8}T\d{4}Z\.jsonl$/);
    expect(summary).toContain(filename);
    const [completed] = h.slack.callsTo('files.completeUploadExternal');
    expect(completed!.args).toMatchObject({
      channel_id: dm,
      initial_comment: 'One JSON object per line: at, kind, actor, request, channel, detail.',
    });
    // Sent form-encoded, so `files` arrives as JSON text (the fake parses only the fields it knows as JSON).
    expect(JSON.parse(String(completed!.args.files))).toEqual([{ id: FILE_ID, title: filename }]);
    expect(uploads!.received).toHaveLength(1);

    // The CLI, where the bot runs, reads the same database while the bot has it open: the same events, so the
    // same bytes as the file the app announced to Slack.
    const content = await cliAudit('7d');
    expect(Number(asked!.args.length)).toBe(Buffer.byteLength(content));

    // One JSON object per line, every line ended, oldest first.
    expect(content.endsWith('\n')).toBe(true);
    const lines = content
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.kind).sort()).toEqual(expectedKinds);
    const times = lines.map((l) => String(l.at));
    expect([...times].sort()).toEqual(times);
    const [built, refusedForQuota] = lines.filter((l) => l.kind === 'requested');
    expect(built).toMatchObject({
      actor: ADMIN,
      channel: 'C1',
      detail: {
        provider: 'aws',
        distribution: 'rhel-9',
        shareTargets: [
          { kind: 'aws-account', value: '123456789012' },
          { kind: 'aws-account', value: '210987654321' },
        ],
      },
    });
    const byKind = (kind: string) => lines.find((l) => l.kind === kind)!;
    expect(byKind('submitted')).toMatchObject({
      request: built!.request,
      detail: { composeId: expect.any(String), provider: 'aws' },
    });
    expect(byKind('finished')).toMatchObject({ request: built!.request, actor: null, detail: { outcome: 'success' } });
    expect(byKind('rejected')).toMatchObject({
      request: refusedForQuota!.request,
      detail: { outcome: 'rejected', rejection: { kind: 'forbidden', status: 403, detail: QUOTA } },
    });
    expect(byKind('refused')).toMatchObject({
      actor: OUTSIDER,
      request: null,
      channel: 'C2',
      detail: { entryPoint: 'command', reason: `Only <@${ADMIN}> may request images (policy requesters).` },
    });

    expect(h.slack.problems).toEqual([]);
  });

  it('refuses the report to someone who is not an admin, and sends them nothing', async () => {
    h = await startHarness({ policy: POLICY });
    await acceptFileUploads();

    const answer = await commandAnswer(await command('audit 7', OUTSIDER));

    expect(answer.args.response_type).toBe('ephemeral');
    expect(answerText(answer)).toContain('The audit report is for the bot’s admins only.');
    expect(h.slack.callsTo('files.getUploadURLExternal')).toEqual([]);
    expect(h.slack.messages(h.slack.dmChannel(OUTSIDER))).toEqual([]);
  });

  it('says to name admins in POLICY_FILE when nobody is an admin', async () => {
    h = await startHarness();

    const answer = await commandAnswer(await command('audit'));

    expect(answerText(answer)).toContain('admin-only commands need admins named in the policy file (POLICY_FILE)');
    expect(h.slack.callsTo('chat.postMessage')).toEqual([]);
  });

  it('still shows the summary when the file cannot be sent, and says where to get the log instead', async () => {
    h = await startHarness({ policy: POLICY });
    await orderAws('123456789012', 'done');
    // The app was installed without files:write.
    h.slack.on('files.getUploadURLExternal', {
      ok: false,
      error: 'missing_scope',
      needed: 'files:write',
      provided: 'chat:write,commands',
    });

    const answer = answerText(await commandAnswer(await command('audit 7')));

    expect(answer).toContain('Builds: *1* succeeded');
    expect(answer).toContain('I could not send you the full log as a file in a DM');
    expect(answer).toContain('`image-builder-bot audit --since 7d`');
  });

  /*
   * Known bug, outside this test's reach: @slack/web-api builds the upload as Node's global FormData, and
   * src/slack/webApiFetch.ts hands every request to undici@7's own fetch, which does not recognise that class and
   * sends the text "[object FormData]" instead (as text/plain). The admin gets a 17-byte file. Once webApiFetch
   * converts a global FormData body to undici's FormData, this passes: then drop `.failing`.
   */
  it('uploads the JSON Lines themselves as the file, the same the CLI prints', async () => {
    h = await startHarness({ policy: POLICY });
    await commandAnswer(await command('aws', OUTSIDER, 'C2'));
    await eventually(async () => (await auditKinds()).length === 1, { description: 'the refusal to be recorded' });
    await acceptFileUploads();

    await commandAnswer(await command('audit 7'));

    expect(uploads!.received).toHaveLength(1);
    const uploaded = await uploadedText(uploads!.received[0]!);
    expect(uploaded).toBe(await cliAudit('7d'));
    expect(JSON.parse(uploaded.trim())).toMatchObject({ kind: 'refused', actor: OUTSIDER });
  });

  it('shows an event of a kind this release does not know (written by a newer one) as unknown, in Slack and the CLI', async () => {
    h = await startHarness({ policy: POLICY });
    await commandAnswer(await command('aws', OUTSIDER, 'C2'));
    await eventually(async () => (await auditKinds()).length === 1, { description: 'the refusal to be recorded' });
    // A newer release wrote this before it was rolled back; the bot has the file open meanwhile, as in production.
    const db = new Database(h.databasePath);
    try {
      db.prepare(
        'INSERT INTO audit_events (at, kind, actor_id, request_id, channel_id, detail_json) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(new Date().toISOString(), 'quota-warned', null, null, 'C1', '{"remaining":2}');
    } finally {
      db.close();
    }
    await acceptFileUploads();

    const summary = answerText(await commandAnswer(await command('audit 7')));
    expect(summary).toContain('*2* events');
    expect(summary).toContain('unknown (quota-warned) 1');

    const lines = (await cliAudit('7d'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.kind)).toEqual(['refused', 'quota-warned']);
    expect(lines[1]).toMatchObject({ channel: 'C1', detail: { remaining: 2 } });
  });
});
