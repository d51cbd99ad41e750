import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { bundle, UNDICI_FALLBACK_WARNING, wideCharacterProblem } from '../scripts/bundle.cjs';
import { startFakeImageBuilder, type FakeImageBuilder } from './fakes/imageBuilderService';
import { startFakeSlack, type FakeSlack } from './fakes/slackApi';
import { startFakeSocketMode } from './fakes/socketModeServer';
import { eventually } from './support/eventually';
import { KNOWN_SECRETS } from './support/knownSecrets';
import { slashCommandBody, submitModalBody, type OpenedView } from './support/slackRequests';
import { packageVersion } from '../src/platform/version';
import { Client } from 'pg';
import { TEST_DATABASE_URL, usePostgresSchema } from './tracking/postgresHelpers';
import {
  BUILD_ROW_COLUMNS,
  buildRowsFrom,
  expectEveryBuildOnce,
  ORDERS,
  orderBuild,
  readSqliteBuildRows,
  spawnBot,
  type BuildRow,
  type RunningBot,
} from './crash/crashSupport';

/*
 * The image runs dist/index.js as scripts/bundle.cjs bundles it: src/index.ts and its dependencies in one file, the
 * ESM builds of those that have them. The rest of the suite runs the sources, so this runs the bundle itself, built
 * here from the current sources: started as a process, a build ordered through its signed endpoint in each cloud's
 * form, followed to the end in Slack.
 */

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..');
const SIGNING_SECRET = KNOWN_SECRETS.SLACK_SIGNING_SECRET;
const BOT_TOKEN = KNOWN_SECRETS.SLACK_BOT_TOKEN;
/** The rows `read` gives, once there are `count` and every one is done. */
const untilDone = (read: () => BuildRow[] | Promise<BuildRow[]>, count: number) =>
  eventually(
    async () => {
      const rows = await read();
      return rows.length === count && rows.every((r) => r.state === 'done') ? rows : undefined;
    },
    { timeoutMs: 40_000, intervalMs: 200, description: `${count} build(s) to finish` },
  );
/** What the bundle's undici entry warns where the bot uses a part of undici it left out. */
const UNDICI_FALLBACK = UNDICI_FALLBACK_WARNING.slice(0, UNDICI_FALLBACK_WARNING.indexOf('%s'));

describe('the bundled bot (dist/index.js as the image runs it)', () => {
  // Inside the checkout, as dist/ is: better-sqlite3 is left out of the bundle and found in node_modules above it.
  const cache = path.join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const folder = mkdtempSync(path.join(cache, 'ibb-bundle-test-'));
  const entry = path.join(folder, 'index.js');
  let slack: FakeSlack;
  let imageBuilder: FakeImageBuilder;
  let bot: RunningBot | undefined;

  beforeAll(async () => {
    await bundle({ outfile: entry });
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    imageBuilder = await startFakeImageBuilder();
  });
  afterAll(async () => {
    bot?.child.kill('SIGKILL');
    await bot?.exited;
    await Promise.all([slack?.close(), imageBuilder?.close()]);
    rmSync(folder, { recursive: true, force: true });
  });

  it('orders builds for AWS, GCP and Azure and follows each to one parent, one status reply and one result', async () => {
    const databasePath = path.join(folder, 'bot.sqlite');
    bot = await spawnBot({
      slack,
      imageBuilder,
      botToken: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      databaseUrl: `sqlite://${databasePath}`,
      entry,
    });
    // It read its version from the package.json above it, as it does from src/ and from tsc's dist/.
    expect(bot.logs()).toContain(`"version":"${packageVersion()}"`);
    for (const number of [1, 2, 3]) {
      await orderBuild(slack, SIGNING_SECRET, number, `CBUNDLE${number}`, {
        commandTo: bot.appUrl,
        submitTo: bot.appUrl,
      });
    }
    const done = await untilDone(() => readSqliteBuildRows(databasePath), 3);
    expectEveryBuildOnce(slack, imageBuilder, done, new Set());
    expect(bot.logs()).not.toContain(UNDICI_FALLBACK);
  });

  /** Fakes of its own for a test (expectEveryBuildOnce counts every message and compose), and a bot spawned on them. */
  const cleanups: Array<() => Promise<unknown>> = [];
  // Declared before the schema's own afterEach, so the bot is gone before its schema is dropped.
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const postgres = usePostgresSchema();
  async function ownRig(slackOptions: { socketModeUrl?: string } = {}) {
    const ownSlack = await startFakeSlack({ botToken: BOT_TOKEN, ...slackOptions });
    const ownImageBuilder = await startFakeImageBuilder();
    cleanups.push(() => Promise.all([ownSlack.close(), ownImageBuilder.close()]));
    const spawn = async (settings: { databaseUrl: string; signingSecret: string; env?: Record<string, string> }) => {
      const spawned = await spawnBot({
        slack: ownSlack,
        imageBuilder: ownImageBuilder,
        botToken: BOT_TOKEN,
        entry,
        ...settings,
      });
      cleanups.push(async () => {
        spawned.child.kill('SIGKILL');
        await spawned.exited;
      });
      return spawned;
    };
    return { slack: ownSlack, imageBuilder: ownImageBuilder, spawn };
  }

  it('connects over Socket Mode and follows a build ordered there to the end', async () => {
    // Socket Mode runs on undici's WebSocket as bundled, which no HTTP-mode run reaches.
    const socketMode = await startFakeSocketMode();
    cleanups.push(() => socketMode.close());
    const own = await ownRig({ socketModeUrl: socketMode.url });
    const databasePath = path.join(folder, 'socket-mode.sqlite');
    const socketBot = await own.spawn({
      signingSecret: '',
      databaseUrl: `sqlite://${databasePath}`,
      env: { SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN },
    });
    expect(socketBot.appUrl).toBe('');
    const { cloud, fills } = ORDERS[0]!;
    const command = slashCommandBody({
      text: cloud,
      channel_id: 'CSOCKET',
      response_url: own.slack.responseUrl('s'),
    });
    await socketMode.deliver('slash_commands', command.payload);
    const view = await own.slack.waitFor(() => own.slack.views()[0] as OpenedView | undefined, {
      description: `the ${cloud} modal`,
    });
    // Acknowledged with nothing to show: no field error, the modal closes.
    expect(await socketMode.deliver('interactive', submitModalBody(view, 'U1', fills).payload)).not.toHaveProperty(
      'payload.response_action',
    );
    const done = await untilDone(() => readSqliteBuildRows(databasePath), 1);
    expectEveryBuildOnce(own.slack, own.imageBuilder, done, new Set());
    expect(own.slack.callsTo('apps.connections.open')[0]?.token).toBe(KNOWN_SECRETS.SLACK_APP_TOKEN);
    expect(socketBot.logs()).not.toContain(UNDICI_FALLBACK);
  });

  it('keeps its builds in PostgreSQL, loading pg from node_modules for a postgres:// URL', async () => {
    const own = await ownRig();
    const schema = postgres.schema();
    const databaseUrl = new URL(TEST_DATABASE_URL);
    databaseUrl.searchParams.set('schema', schema);
    const postgresBot = await own.spawn({ signingSecret: SIGNING_SECRET, databaseUrl: databaseUrl.toString() });
    await orderBuild(own.slack, SIGNING_SECRET, 1, 'CPOSTGRES', {
      commandTo: postgresBot.appUrl,
      submitTo: postgresBot.appUrl,
    });
    const db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    cleanups.push(() => db.end());
    const read = async () =>
      (await db.query<BuildRow>(`SELECT ${BUILD_ROW_COLUMNS} FROM ${buildRowsFrom(schema)}`)).rows;
    const done = await untilDone(read, 1);
    expectEveryBuildOnce(own.slack, own.imageBuilder, done, new Set());
    expect(postgresBot.logs()).not.toContain(UNDICI_FALLBACK);
  });

  it('leaves out what loads on demand, and finds each such part in node_modules from where it runs', () => {
    const code = readFileSync(entry, 'latin1');
    const required = new Set([...code.matchAll(/\b(?:require|import)\("([^"]+)"\)/g)].map((m) => m[1]!));
    const fromNodeModules = [...required].filter((name) => !isBuiltin(name));
    expect(fromNodeModules.sort()).toEqual([
      'better-sqlite3',
      'iconv-lite/encodings',
      'pg',
      // The whole of undici, for a name the bundle's undici entry left out (none, in the runs above).
      'undici',
      'undici/lib/llhttp/llhttp-wasm.js',
      'undici/lib/llhttp/llhttp_simd-wasm.js',
      'undici/lib/milo/no-simd.js',
      'undici/lib/milo/simd.js',
    ]);
    for (const name of fromNodeModules) {
      expect(() => require.resolve(name, { paths: [folder] })).not.toThrow();
    }
    // None of their code came along: no WebAssembly module (base64 of "\0asm") and no encoding table.
    expect(code).not.toContain('AGFzbQ');
    expect(code).not.toMatch(/"gbk"|cp936/);
    // Nor did what the bot never runs: Bolt's ExpressReceiver and Express, undici's mock agents and caches.
    expect(code).not.toMatch(/\b(require_ExpressReceiver|require_express|require_mime_db|require_mock_agent)\b/);
    expect(code).not.toContain('SqliteCacheStore');
  });
});

describe('the bundle as one-byte text', () => {
  // bundle() refuses an output V8 would hold as two bytes per character (the bundle above passed it).
  it('names the first character beyond Latin-1, where it is and what to do', () => {
    const code = 'const a = "caf\u00e9";\nconst b = s.replace(/\u200d\u2026$/, "");\n';
    expect(wideCharacterProblem(code, 'dist/index.js')).toMatch(
      /^dist\/index\.js:2:22 has U\+200D in ".*": .* two-byte string, twice its size; write it as a \\u escape/,
    );
    expect(wideCharacterProblem('const a = "caf\u00e9";', 'dist/index.js')).toBeUndefined();
  });
});
