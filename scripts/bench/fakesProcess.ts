import { rateLimited, startFakeSlack, type FakeSlackCall } from '../../test/fakes/slackApi';
import {
  startFakeImageBuilder,
  type ComposeStep,
  type FakeCompose,
  type ImageStatusBody,
} from '../../test/fakes/imageBuilderService';
import { blocksText, isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import type {
  ComposePost,
  ComposeStats,
  ComposeTrace,
  FakesProgress,
  FakesReady,
  FakesRequest,
  FakesSettings,
  FakesStats,
  SeededCompose,
  SubmissionsSeen,
} from './protocol';
import { seededRandom as random } from '../../test/support/seededRandom';

/*
 * The fake Slack and the fake Image Builder in a process of their own, so their work is not counted against the bot
 * or the load generator. Driven over IPC by run.ts: it seeds composes and answers with progress and statistics.
 * run.ts starts one per run, so every run begins empty.
 *
 * Time runs `factor` times faster than real time: each compose moves through realistic statuses on a clock of its
 * own (see PHASES), starting at its first poll. Slack's tiers are enforced at `slackScale` times their real rate:
 * chat.postMessage about one per second per channel (a burst of 3), chat.update Tier 3, 50 per minute per
 * workspace (a burst of 10). Anything over answers 429 and is counted.
 */

/** How long each step of a compose lasts at real pace, on average; every compose draws each from 0.5–1.5 times it. */
const PHASES: { step: ComposeStep; minutes: number }[] = [
  { step: 'pending', minutes: 1 },
  // Four progress steps: the fake answers building 1/4 … 4/4 by position.
  { step: 'building', minutes: 2 },
  { step: 'building', minutes: 2 },
  { step: 'building', minutes: 2 },
  { step: 'building', minutes: 2 },
  { step: 'uploading', minutes: 2 },
  { step: 'registering', minutes: 2 },
];
const FINAL_STEP: ComposeStep = 'success';
export const REAL_COMPOSE_MINUTES = PHASES.reduce((sum, p) => sum + p.minutes, 0);

/**
 * The order of the states a thread shows. Slack calls are matched to a state by the words their text contains
 * (the fallback text, then the blocks): whatever the wording, a status message names its status.
 */
const STATE_ORDER: Readonly<Record<string, number>> = {
  submitting: 0,
  pending: 1,
  building: 2,
  running: 2,
  uploading: 3,
  registering: 4,
  success: 5,
  failure: 5,
};
const FINAL_ORDER = 5;
const STATE_WORDS: [RegExp, number][] = [
  [/\bsubmitting\b/i, 0],
  [/\b(pending|queued)\b/i, 1],
  [/\bbuilding\b/i, 2],
  [/\buploading\b/i, 3],
  [/\bregistering\b/i, 4],
  [/\b(ready|success|succeeded|failed|failure)\b/i, FINAL_ORDER],
];

/** The furthest state a message's text names, or -1 when it names none. */
export function shownState(args: JsonObject): number {
  const furthest = (text: string) =>
    STATE_WORDS.reduce((best, [pattern, order]) => (pattern.test(text) ? Math.max(best, order) : best), -1);
  const fromText = typeof args.text === 'string' ? furthest(args.text) : -1;
  return fromText >= 0 ? fromText : furthest(blocksText(args.blocks));
}

function tokenBucket(capacity: number, perSecond: number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (key: string, now: number): boolean => {
    const bucket = buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
}

const COMPOSE_REQUEST: JsonObject = {
  distribution: 'rhel-9',
  image_name: 'bench',
  image_requests: [
    {
      architecture: 'x86_64',
      image_type: 'aws',
      upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
    },
  ],
};

interface ChatCall {
  update: boolean;
  at: number;
  ok: boolean;
  /** The state the message shows (STATE_ORDER), -1 when none could be read; only for successful calls. */
  shown: number;
  parentPost: boolean;
  threadPost: boolean;
}

/** The build step (progress.done) a status names, if any. */
function stepOf(status: ImageStatusBody): number | undefined {
  const progress = status.progress;
  return isObject(progress) && typeof progress.done === 'number' ? progress.done : undefined;
}

interface Served {
  status: string;
  /** For `building`: the build step served (progress.done). */
  step?: number;
  /** When the fake first answered it. */
  at: number;
  /** When the compose entered it on its own clock. */
  startedAt: number;
}

interface Tracked {
  id: string;
  channel: string;
  /** Wall ms after the first poll at which each step of PHASES ends. */
  stepEnds: number[];
  firstPollAt?: number;
  /** GET /composes/{id} answered for it. */
  polls: number;
  served: Served[];
  calls: ChatCall[];
  finalOnSlackAt?: number;
}

async function main() {
  const send = (message: unknown) => process.send!(message);
  const settings = JSON.parse(process.argv[2] ?? '{}') as FakesSettings;
  const draw = random(settings.seed);
  const postAllowed = tokenBucket(3, 1 * settings.slackScale);
  const updateAllowed = tokenBucket(10, (50 / 60) * settings.slackScale);
  let rateLimitedCount = 0;

  const slack = await startFakeSlack({ triggerLifetimeMs: 60_000 });
  const imageBuilder = await startFakeImageBuilder({
    tokenLifetimeSeconds: 3600,
    ...(settings.submissions ? { script: settings.submissions.script } : {}),
  });
  slack.on('chat.postMessage', (call) => {
    if (postAllowed(`post:${String(call.args.channel)}`, Date.now())) return undefined;
    rateLimitedCount += 1;
    return rateLimited(1);
  });
  slack.on('chat.update', () => {
    if (updateAllowed('update', Date.now())) return undefined;
    rateLimitedCount += 1;
    return rateLimited(1);
  });

  const tracked = new Map<string, Tracked>();
  const byChannel = new Map<string, Tracked>();
  let finishedAtService = 0;
  let finalOnSlack = 0;
  let lastFinalOnSlackAt: number | undefined;

  /**
   * Puts the compose on its own clock. The fake answers `script[polls]` and counts polls; reading `polls` from the
   * clock instead makes it answer whatever step the compose has reached in time, and the first poll starts that
   * clock. Every answer passes through `lastStatus`, which records the statuses as they are first served.
   */
  function followClock(compose: FakeCompose, entry: Tracked) {
    const stepAt = (elapsed: number) => {
      const index = entry.stepEnds.findIndex((end) => elapsed < end);
      return index < 0 ? PHASES.length : index;
    };
    const stepStart = (index: number) => (index === 0 ? 0 : entry.stepEnds[index - 1]!);
    Object.defineProperty(compose, 'polls', {
      get: () => (entry.firstPollAt === undefined ? 0 : stepAt(Date.now() - entry.firstPollAt)),
      set: () => {
        entry.firstPollAt ??= Date.now();
        entry.polls += 1;
      },
    });
    let last: ImageStatusBody | undefined;
    Object.defineProperty(compose, 'lastStatus', {
      get: () => last,
      set: (status: ImageStatusBody) => {
        last = status;
        // A build step is a visible change too: the status reply shows it ("step 2 of 4").
        const step = stepOf(status);
        const previous = entry.served.at(-1);
        if (previous?.status === status.status && previous.step === step) return;
        const now = Date.now();
        // Where this answer begins in the script: the status's first step, then (for building) as many steps on.
        const statusBegins = compose.script.findIndex((s) => (typeof s === 'string' ? s : s.status) === status.status);
        const index = Math.max(0, statusBegins) + (step === undefined ? 0 : step - 1);
        entry.served.push({
          status: status.status,
          ...(step === undefined ? {} : { step }),
          at: now,
          startedAt: (entry.firstPollAt ?? now) + stepStart(index),
        });
        if ((STATE_ORDER[status.status] ?? 0) >= FINAL_ORDER) finishedAtService += 1;
      },
    });
  }

  function seed(count: number): SeededCompose[] {
    const seeded: SeededCompose[] = [];
    for (let i = 0; i < count; i += 1) {
      const script = [...PHASES.map((p) => p.step), FINAL_STEP];
      const id = imageBuilder.addCompose({ request: COMPOSE_REQUEST, script });
      let end = 0;
      const stepEnds = PHASES.map((p) => (end += (p.minutes * (0.5 + draw()) * 60_000) / settings.factor));
      const channel = `CB${(tracked.size + 1).toString(36).toUpperCase()}`;
      const entry: Tracked = { id, channel, stepEnds, polls: 0, served: [], calls: [] };
      tracked.set(id, entry);
      byChannel.set(channel, entry);
      followClock(imageBuilder.composes.get(id)!, entry);
      seeded.push({ composeId: id, channel, request: COMPOSE_REQUEST });
    }
    return seeded;
  }

  // What the fakes record is drained into counters often, so a 10,000-compose run keeps this process small.
  let imageBuilderRequests = 0;
  let imageBuilderFirstAt: number | undefined;
  let imageBuilderLastAt: number | undefined;
  const requestsPerSecond = new Map<number, number>();
  let slackCalls = 0;
  let chatUpdates = 0;
  let chatUpdateFirstAt: number | undefined;
  let chatUpdateLastAt: number | undefined;
  let lastChatCallAt: number | undefined;

  function recordChatCall(call: FakeSlackCall) {
    const at = call.at.getTime();
    lastChatCallAt = at;
    const entry = byChannel.get(String(call.args.channel));
    if (!entry) return;
    const ok = call.response.status === 200 && isObject(call.response.body) && call.response.body.ok === true;
    const post = call.method === 'chat.postMessage';
    const shown = ok ? shownState(call.args) : -1;
    entry.calls.push({
      update: !post,
      at,
      ok,
      shown,
      parentPost: ok && post && call.args.thread_ts === undefined,
      threadPost: ok && post && call.args.thread_ts !== undefined,
    });
    if (shown >= FINAL_ORDER && entry.finalOnSlackAt === undefined) {
      entry.finalOnSlackAt = at;
      finalOnSlack += 1;
      lastFinalOnSlackAt = at;
    }
    if (ok && !post) {
      // Only tests read a message's earlier versions; at this scale they would be most of this process's memory.
      slack.message(String(call.args.channel), String(call.args.ts))?.history.splice(0);
    }
  }

  const composePosts: ComposePost[] = [];
  /** For the ack phase's second baseline: a bare Bolt app opening the very form the bot opens. */
  let lastOpenedView: unknown;

  function drain() {
    for (const request of imageBuilder.requests.splice(0)) {
      const at = request.at.getTime();
      if (request.method === 'POST' && request.path.endsWith('/compose')) {
        const description = isObject(request.body) ? request.body.image_description : undefined;
        composePosts.push({ at, description: typeof description === 'string' ? description : '' });
      }
      imageBuilderRequests += 1;
      imageBuilderFirstAt ??= at;
      imageBuilderLastAt = at;
      const second = Math.floor(at / 1000);
      requestsPerSecond.set(second, (requestsPerSecond.get(second) ?? 0) + 1);
    }
    // Nothing reads the modals the ack phase opens; kept, tens of thousands of forms would make this process's garbage
    // collections (on the CPUs the measured app runs on) longer the longer the run.
    if (!settings.submissions) slack.forgetViews();
    for (const call of slack.calls.splice(0)) {
      slackCalls += 1;
      if (call.method === 'views.open') lastOpenedView = call.args.view;
      if (call.method === 'chat.update') {
        chatUpdates += 1;
        chatUpdateFirstAt ??= call.at.getTime();
        chatUpdateLastAt = call.at.getTime();
      }
      if (call.method === 'chat.postMessage' || call.method === 'chat.update') recordChatCall(call);
    }
  }
  const drainer = setInterval(drain, 250);

  function progress(): FakesProgress {
    drain();
    return {
      composes: tracked.size,
      finishedAtService,
      finalOnSlack,
      ...(lastChatCallAt === undefined ? {} : { lastChatCallAt }),
      imageBuilderRequests,
      slackCalls,
      slackRateLimited: rateLimitedCount,
    };
  }

  function composeStats(entry: Tracked): ComposeStats {
    const successful = entry.calls.filter((c) => c.ok);
    const latenciesFromServed: number[] = [];
    const latenciesFromStart: number[] = [];
    let unseen = 0;
    let skipped = 0;
    for (const served of entry.served) {
      const order = STATE_ORDER[served.status] ?? 0;
      // A thread may show a status before the service first answers it: "pending" is what a build just sent is, and
      // its status reply says so before the first poll. Already on Slack, it took no time to reach it. (Not for a
      // build step: a call names only the status, not which step.)
      const before = successful.filter((c) => c.at < served.at).at(-1);
      if (served.step === undefined && before?.shown === order) {
        latenciesFromServed.push(0);
        latenciesFromStart.push(Math.max(0, before.at - served.startedAt));
        continue;
      }
      const shown = successful.find((c) => c.at >= served.at && c.shown >= order);
      if (!shown) {
        unseen += 1;
        continue;
      }
      latenciesFromServed.push(shown.at - served.at);
      latenciesFromStart.push(shown.at - served.startedAt);
      if (!successful.some((c) => c.shown === order)) skipped += 1;
    }
    const servedFinal = (STATE_ORDER[entry.served.at(-1)?.status ?? ''] ?? 0) >= FINAL_ORDER;
    return {
      changes: entry.served.length + 1,
      slackCalls: entry.calls.length,
      finishedAtService: servedFinal,
      complete: servedFinal && entry.finalOnSlackAt !== undefined,
      latenciesFromServed,
      latenciesFromStart,
      unseen,
      skipped,
      polls: entry.polls,
      parentPosts: entry.calls.filter((c) => c.parentPost).length,
      threadPosts: entry.calls.filter((c) => c.threadPost).length,
    };
  }

  const STATE_NAMES = ['submitting', 'pending', 'building', 'uploading', 'registering', 'final'];
  function trace(entry: Tracked): ComposeTrace {
    const from = entry.firstPollAt ?? 0;
    return {
      composeId: entry.id,
      served: entry.served.map((s) => ({
        status: s.status,
        ...(s.step === undefined ? {} : { step: s.step }),
        at: s.at - from,
      })),
      calls: entry.calls.map((c) => ({
        method: c.update ? 'update' : 'post',
        at: c.at - from,
        ok: c.ok,
        shows: STATE_NAMES[c.shown] ?? 'nothing',
      })),
    };
  }

  function stats(): FakesStats {
    drain();
    const perCompose = [...tracked.values()].map((entry) => ({ entry, stats: composeStats(entry) }));
    const worst = (c: ComposeStats) => Math.max(-1, ...c.latenciesFromServed);
    const slowest = perCompose.reduce<(typeof perCompose)[number] | undefined>(
      (a, b) => (!a || worst(b.stats) > worst(a.stats) ? b : a),
      undefined,
    );
    return {
      imageBuilderRequests,
      ...(imageBuilderFirstAt === undefined ? {} : { imageBuilderFirstAt, imageBuilderLastAt }),
      imageBuilderBusiestSecond: Math.max(0, ...requestsPerSecond.values()),
      slackCalls,
      chatUpdates,
      ...(chatUpdateFirstAt === undefined ? {} : { chatUpdateFirstAt, chatUpdateLastAt }),
      slackRateLimited: rateLimitedCount,
      ...(finalOnSlack === tracked.size && lastFinalOnSlackAt !== undefined
        ? { allFinalOnSlackAt: lastFinalOnSlackAt }
        : {}),
      perCompose: perCompose.map((c) => c.stats),
      ...(slowest ? { slowest: trace(slowest.entry) } : {}),
    };
  }

  /** The channel's threads: each top-level message with how many replies it has, and how many show the end. */
  function submissions(channel: string): SubmissionsSeen {
    drain();
    const messages = slack.messages(channel).filter((m) => !m.deleted);
    const threads = messages
      .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts)
      .map((parent) => {
        const replies = messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts);
        // The first reply is the status, which shows the end too once edited; a result is a later reply.
        const results = replies
          .slice(1)
          .filter((m) => shownState({ text: m.text, blocks: m.blocks ?? [] }) >= FINAL_ORDER);
        return { replies: replies.length, results: results.length };
      });
    return { posts: [...composePosts], threads };
  }

  process.on('message', (message: FakesRequest) => {
    switch (message.kind) {
      case 'seed':
        send({ kind: 'seeded', composes: seed(message.count) });
        break;
      case 'progress':
        send({ kind: 'progress', progress: progress() });
        break;
      case 'stats':
        send({ kind: 'stats', stats: stats() });
        break;
      case 'views':
        send({ kind: 'views', views: slack.views() });
        break;
      case 'lastOpenedView':
        drain();
        send({
          kind: 'lastOpenedView',
          ...(lastOpenedView === undefined ? {} : { view: JSON.stringify(lastOpenedView) }),
        });
        break;
      case 'submissions':
        send({ kind: 'submissions', seen: submissions(message.channel) });
        break;
      case 'stop':
        clearInterval(drainer);
        void Promise.all([slack.close(), imageBuilder.close()]).then(() => process.exit(0));
        break;
    }
  });

  const ready: FakesReady = {
    kind: 'ready',
    slackUrl: slack.url,
    imageBuilderUrl: imageBuilder.baseUrl,
    tokenUrl: imageBuilder.tokenUrl,
    offlineToken: imageBuilder.credentials.offlineToken,
  };
  send(ready);
}

if (require.main === module) void main();
