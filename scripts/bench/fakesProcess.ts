import { rateLimited, startFakeSlack, type FakeSlackCall } from '../../test/fakes/slackApi';
import { startFakeImageBuilder, type ComposeStep } from '../../test/fakes/imageBuilderService';
import type { JsonObject } from '../../test/fakes/blockKit';
import type { FakesReady, FakesRequest, FakesStats, SeededCompose } from './protocol';

/*
 * The fake Slack and the fake Image Builder in a process of their own, so their work is not counted against the bot
 * or the load generator. Driven over IPC by run.ts: it seeds composes, resets counters and answers with statistics.
 *
 * Slack's tiers are enforced at `slackScale` times their real rate: chat.postMessage about one per second per channel
 * (a burst of 3), chat.update Tier 3, 50 per minute per workspace (a burst of 10). Anything over answers 429.
 */

interface Bucket {
  tokens: number;
  at: number;
}

function tokenBucket(capacity: number, perSecond: number) {
  const buckets = new Map<string, Bucket>();
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

/** A realistic life for a compose: queued, building with progress, uploading, registering, done. */
export function realisticScript(): ComposeStep[] {
  return [
    'pending',
    { status: 'building', progress: { done: 1, total: 4 } },
    { status: 'building', progress: { done: 2, total: 4 } },
    { status: 'building', progress: { done: 3, total: 4 } },
    { status: 'building', progress: { done: 4, total: 4 } },
    'uploading',
    'registering',
    'success',
  ];
}

const COMPOSE_REQUEST: JsonObject = {
  distribution: 'rhel-9',
  image_name: 'bench',
  image_requests: [
    { architecture: 'x86_64', image_type: 'aws', upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } } },
  ],
};

async function main() {
  const send = (message: unknown) => process.send!(message);
  const slackScale = Number(process.argv[2] ?? '1');
  const postAllowed = tokenBucket(3, 1 * slackScale);
  const updateAllowed = tokenBucket(10, (50 / 60) * slackScale);
  let rateLimitedCount = 0;

  const slack = await startFakeSlack({ triggerLifetimeMs: 60_000 });
  const imageBuilder = await startFakeImageBuilder({ tokenLifetimeSeconds: 3600 });
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

  /** Per compose: when the status it answers changed (ms since epoch), recorded as it is polled. */
  const changes = new Map<string, number[]>();
  const lastSeen = new Map<string, string>();
  let statsFrom = 0;

  function recordChanges() {
    for (const [id, compose] of imageBuilder.composes) {
      const status = compose.lastStatus;
      if (!status) continue;
      const key = JSON.stringify([status.status, (status.progress as { done?: number } | undefined)?.done]);
      if (lastSeen.get(id) === key) continue;
      lastSeen.set(id, key);
      const list = changes.get(id) ?? [];
      // The time of the poll that first answered it: the latest request for this compose.
      list.push(Date.now());
      changes.set(id, list);
    }
  }
  // Polled often relative to the bot's poll interval; the error is at most this period.
  const sampler = setInterval(recordChanges, 20);

  function stats(channelOf: Record<string, string>): FakesStats {
    recordChanges();
    const slackCalls = slack.calls.filter((c) => c.at.getTime() >= statsFrom);
    const byChannel = new Map<string, FakeSlackCall[]>();
    for (const call of slackCalls) {
      if (call.method !== 'chat.postMessage' && call.method !== 'chat.update') continue;
      const channel = String(call.args.channel);
      const list = byChannel.get(channel) ?? [];
      list.push(call);
      byChannel.set(channel, list);
    }
    const perCompose = Object.entries(channelOf).map(([composeId, channel]) => {
      const calls = (byChannel.get(channel) ?? []).filter((c) => c.response.status === 200);
      const callTimes = calls.map((c) => c.at.getTime());
      const changeTimes = changes.get(composeId) ?? [];
      const latencies: number[] = [];
      let unseen = 0;
      for (const t of changeTimes) {
        const next = callTimes.find((at) => at >= t);
        if (next === undefined) unseen += 1;
        else latencies.push(next - t);
      }
      const posts = calls.filter((c) => c.method === 'chat.postMessage');
      const parentPosts = posts.filter((c) => c.args.thread_ts === undefined).length;
      return { composeId, parentPosts, threadPosts: posts.length - parentPosts, changes: changeTimes.length, slackCalls: calls.length, finished: imageBuilder.composes.get(composeId)?.lastStatus?.status === 'success', latencies, unseen };
    });
    const apiRequests = imageBuilder.requests.filter((r) => r.kind === 'api' && r.at.getTime() >= statsFrom);
    return {
      since: statsFrom,
      until: Date.now(),
      imageBuilderRequests: apiRequests.length,
      slackCalls: slackCalls.length,
      slackRateLimited: rateLimitedCount,
      perCompose,
    };
  }

  process.on('message', (message: FakesRequest) => {
    switch (message.kind) {
      case 'seed': {
        const seeded: SeededCompose[] = [];
        for (let i = 0; i < message.count; i += 1) {
          const id = imageBuilder.addCompose({ request: COMPOSE_REQUEST, script: realisticScript() });
          seeded.push({ composeId: id, request: COMPOSE_REQUEST });
        }
        send({ kind: 'seeded', composes: seeded });
        break;
      }
      case 'reset':
        // Drops what earlier phases recorded, so each run counts only its own traffic and memory stays flat.
        slack.calls.splice(0);
        imageBuilder.requests.splice(0);
        imageBuilder.composes.clear();
        changes.clear();
        lastSeen.clear();
        rateLimitedCount = 0;
        statsFrom = Date.now();
        send({ kind: 'reset' });
        break;
      case 'stats':
        send({ kind: 'stats', stats: stats(message.channelOf) });
        break;
      case 'stop':
        clearInterval(sampler);
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

void main();
