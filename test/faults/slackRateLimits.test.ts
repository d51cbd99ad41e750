import { startHarness, type Harness } from '../e2e/harness';
import { blocksText } from '../../src/demo/fakes/blockKit';
import { httpAnswer, rateLimited, type FakeSlackMessage } from '../fakes/slackApi';
import {
  faultSeed,
  orderImage,
  ORDERS,
  reportFaults,
  statusRank,
  threadIn,
  recordUnhandledRejections,
} from './faultSupport';
import { seededRandom } from '../support/seededRandom';
import { failureNotes } from '../support/failureNotes';

/*
 * Slack answering chat.postMessage and chat.update with 429 (Retry-After: 1) and 503 for a while: the thread
 * messages arrive later but in order (the status reply before the result), each build ends showing its final state
 * in the parent and the status reply, and no edit ever puts an older state over a newer one.
 * Replay a run with FAULT_SEED=<printed seed>.
 */

jest.setTimeout(60_000);

const BUILDS = 5;
/** How many of each fault Slack answers before it recovers: "for a while", bounded so the test stays short. */
const RATE_LIMITS = 6;
const UNAVAILABLE = 8;
const FAULT_RATE = 0.35;

let h: Harness | undefined;
const unhandled = recordUnhandledRejections();
afterEach(async () => h?.close());

const shown = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
/** Every version the message has shown, oldest first, the current one last. */
const versions = (m: FakeSlackMessage) => [...m.history.map((v) => v.text), m.text];

const notes = failureNotes();
it(
  'shows every build’s final state in order while Slack rate-limits and fails posts and edits for a while',
  notes.test(async () => {
    const seed = faultSeed();
    notes.add(`FAULT_SEED=${seed}`);
    const random = seededRandom(seed);
    const injected = { 'slack-429': 0, 'slack-503': 0 };
    h = await startHarness();
    const harness = h;

    for (const method of ['chat.postMessage', 'chat.update']) {
      harness.slack.on(method, () => {
        const roll = random();
        if (roll < FAULT_RATE / 2 && injected['slack-429'] < RATE_LIMITS) {
          injected['slack-429'] += 1;
          return rateLimited(1);
        }
        if (roll < FAULT_RATE && injected['slack-503'] < UNAVAILABLE) {
          injected['slack-503'] += 1;
          return httpAnswer(503, 'upstream connect error', { 'content-type': 'text/plain' });
        }
        return undefined;
      });
    }

    const channels = Array.from({ length: BUILDS }, (_, i) => `CSLACK${i}`);
    for (const [i, channel] of channels.entries()) {
      const answer = await orderImage(harness, channel, ORDERS[i % ORDERS.length]);
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('');
    }

    await harness.slack.waitFor(
      () =>
        channels.every(
          (c) =>
            threadIn(harness, c)?.result &&
            /Ready/.test(threadIn(harness, c)?.status?.text ?? '') &&
            /Ready/.test(threadIn(harness, c)?.parent.text ?? ''),
        ),
      { timeoutMs: 50_000, description: 'every thread to show its final state' },
    );
    // Let anything still queued land: a stale edit arriving late would show here.
    await new Promise((resolve) => setTimeout(resolve, 500));

    for (const channel of channels) {
      const thread = threadIn(harness, channel)!;
      // One parent, one status reply, one result: a refused post was not shown twice.
      expect(harness.slack.messages(channel)).toHaveLength(3);
      expect(thread.replies).toHaveLength(2);
      expect(thread.status!.text).toMatch(/^Status: /);
      expect(shown(thread.result)).toContain('your image is ready');
      expect(shown(thread.parent)).toContain('Ready');
      expect(shown(thread.status)).toContain('Ready');
      for (const message of [thread.parent, thread.status!]) {
        const ranks = versions(message).map(statusRank);
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      }
    }
    expect(harness.slack.problems).toEqual([]);
    expect(unhandled).toEqual([]);
    // The faults did happen: the run is not green because Slack happened to behave.
    expect(injected['slack-429']).toBeGreaterThan(0);
    expect(injected['slack-503']).toBeGreaterThan(0);

    reportFaults({
      area: 'Slack rate limits and 5xx',
      test: '429 with Retry-After 1 and 503 on chat.postMessage and chat.update',
      faults: injected,
      builds: BUILDS,
      seed,
      notes: `${harness.slack.callsTo('chat.update').length} edits and ${harness.slack.callsTo('chat.postMessage').length} posts in all`,
    });
  }),
);
