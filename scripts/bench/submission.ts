import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signedPost, slashCommandBody, submitModalBody, type OpenedView } from '../../test/support/slackRequests';
import type { ComposeStep } from '../../test/fakes/imageBuilderService';
import type { FakesReady, FakesRequest, FakesMessage, SubmissionsSeen } from './protocol';

/*
 * The bench's `submission` phase: a busy channel. ORDERS people open the form in one channel and submit it within
 * SPREAD_MS, at Slack's real pace (posts about one a second per channel). Measured for each order, from the answer
 * to its view_submission to its POST /compose arriving at the fake Image Builder (both clocks are this machine's);
 * and, once every build has ended, each thread's shape: one parent per order, its status reply and its result.
 *
 * The composes are short (SCRIPT) and polled every POLL_SECONDS, so that a run lasts about as long as the channel
 * takes to post its threads (three posts an order at one a second), not as long as a real build.
 */

export const ORDERS = 20;
const SPREAD_MS = 2000;
const CHANNEL = 'CSUBMIT';
const POLL_SECONDS = 3;
export const SCRIPT: ComposeStep[] = ['pending', 'building', 'success'];
/** A run that has not seen every thread end by then is reported as it stands. */
const RUN_CAP_MS = 150_000;

const FILLS = { distribution: 'rhel-9', architecture: 'x86_64', share_with_accounts: '123456789012' };

export interface SubmissionFakes {
  ready: FakesReady;
  ask<K extends FakesMessage['kind']>(request: FakesRequest): Promise<Extract<FakesMessage, { kind: K }>>;
  stop(): Promise<void>;
}

export interface SubmissionOptions {
  runs: number;
  signingSecret: string;
  startFakes(): Promise<SubmissionFakes>;
  /** Starts the bot (compiled, as run.ts starts it) on `databasePath` against the fakes; resolves with its URL. */
  startBot(fakes: FakesReady, extra: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }>;
}

export interface SubmissionRun {
  /** Per order: ms from its view_submission answer to its POST /compose; NaN for an order never sent. */
  answerToPostMs: number[];
  /** Answers to the view_submissions that were not 200 with an empty body (the form closing). */
  refused: number;
  seen: SubmissionsSeen;
  /** Wall seconds from the first submission until every thread had its result, NaN when some never did. */
  allEndedSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const userOf = (i: number) => `USUB${String(i + 1).padStart(2, '0')}`;

/** Each person's form, opened by their slash command in the channel, one after the other. */
async function openForms(fakes: SubmissionFakes, url: string, secret: string): Promise<OpenedView[]> {
  const origin = new URL(fakes.ready.slackUrl).origin;
  const forms: OpenedView[] = [];
  for (let i = 0; i < ORDERS; i += 1) {
    const body = slashCommandBody({
      text: 'aws',
      user_id: userOf(i),
      channel_id: CHANNEL,
      response_url: `${origin}/response-url/submit-${i}`,
    });
    const answer = await signedPost(url, secret, body);
    if (answer.status !== 200) throw new Error(`the bot answered /image-builder aws with ${answer.status}`);
    for (let waited = 0; ; waited += 20) {
      const { views } = await fakes.ask<'views'>({ kind: 'views' });
      if (views.length > i) {
        forms.push(views[i] as OpenedView);
        break;
      }
      if (waited > 10_000) throw new Error(`the bot opened no form for ${userOf(i)}`);
      await sleep(20);
    }
  }
  return forms;
}

/** Whether every order has its thread: a parent per order, each with its status reply and its result. */
const everyThreadEnded = (seen: SubmissionsSeen) =>
  seen.threads.length >= ORDERS && seen.threads.every((t) => t.results >= 1);

async function submissionRun(options: SubmissionOptions): Promise<SubmissionRun> {
  const fakes = await options.startFakes();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ibb-bench-submit-'));
  try {
    const bot = await options.startBot(fakes.ready, {
      DATABASE_URL: path.join(dir, 'bot.sqlite'),
      POLL_INTERVAL_SECONDS: String(POLL_SECONDS),
      LOG_LEVEL: 'info',
    });
    try {
      const forms = await openForms(fakes, bot.url, options.signingSecret);
      const startedAt = Date.now();
      const answers = await Promise.all(
        forms.map(async (form, i) => {
          await sleep((i * SPREAD_MS) / ORDERS);
          const answer = await signedPost(bot.url, options.signingSecret, submitModalBody(form, userOf(i), FILLS));
          return { at: Date.now(), ok: answer.status === 200 && answer.text === '' };
        }),
      );
      let seen: SubmissionsSeen;
      do {
        await sleep(500);
        seen = (await fakes.ask<'submissions'>({ kind: 'submissions', channel: CHANNEL })).seen;
      } while (!everyThreadEnded(seen) && Date.now() - startedAt < RUN_CAP_MS);
      const endedAt = Date.now();
      const answerToPostMs = answers.map((answer, i) => {
        const post = seen.posts.find((p) => p.description.includes(`by ${userOf(i)} `));
        return post ? post.at - answer.at : NaN;
      });
      return {
        answerToPostMs,
        refused: answers.filter((a) => !a.ok).length,
        seen,
        allEndedSeconds: everyThreadEnded(seen) ? (endedAt - startedAt) / 1000 : NaN,
      };
    } finally {
      await bot.stop();
    }
  } finally {
    await fakes.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function submissionPhase(options: SubmissionOptions): Promise<SubmissionRun[]> {
  const runs: SubmissionRun[] = [];
  for (let run = 0; run < options.runs; run += 1) {
    runs.push(await submissionRun(options));
    const last = runs.at(-1)!;
    console.log(
      `   run ${run + 1}: answer → POST ms ${JSON.stringify(last.answerToPostMs.map((ms) => Math.round(ms)))}, ` +
        `threads ${JSON.stringify(last.seen.threads)}, every thread ended after ${last.allEndedSeconds} s`,
    );
  }
  return runs;
}

/** What the report needs from run.ts, so that there is one percentile, one verdict and one way to show a figure. */
export interface SubmissionReportHelpers {
  percentile(values: number[], p: number): number;
  verdict(pass: boolean): string;
  /** The median of the runs' figures, with their spread, as run.ts shows every figure. */
  show(values: number[], digits?: number): string;
  median(values: number[]): number;
}

/** Threads that are not one parent with exactly its status reply and its result, and posts beyond one per order. */
function misshapen(run: SubmissionRun): number {
  const extraThreads = Math.max(0, run.seen.threads.length - ORDERS);
  const wrongThreads = run.seen.threads.filter((t) => t.replies !== 2 || t.results !== 1).length;
  const extraPosts = Math.max(0, run.seen.posts.length - ORDERS);
  return extraThreads + wrongThreads + extraPosts;
}

export function submissionSection(runs: SubmissionRun[], helpers: SubmissionReportHelpers): string[] {
  const { percentile, verdict, show, median } = helpers;
  const p99 = runs.map((r) => percentile(r.answerToPostMs, 99));
  const unsent = runs.map((r) => r.answerToPostMs.filter((ms) => !Number.isFinite(ms)).length);
  const wrong = runs.map(misshapen);
  return [
    '## 5. Submission in a busy channel',
    '',
    `${ORDERS} people open the form with \`/image-builder aws\` in one channel, then submit it within ${SPREAD_MS / 1000} s (one every`,
    `${SPREAD_MS / ORDERS} ms), against the bot (SQLite) at Slack's real pace: it posts about one message a second per channel, and the`,
    'fake Slack answers 429 beyond that. Measured per order: from the answer to its view_submission to its POST /compose',
    `arriving at the fake Image Builder. The composes are short (${SCRIPT.join(' → ')}, polled every ${POLL_SECONDS} s) so that a run`,
    `lasts as long as the channel takes to post ${ORDERS} threads; a thread is right when it is one parent with its status reply and`,
    'its result, nothing posted twice.',
    '',
    '| figure | value | target | result |',
    '|---|---|---|---|',
    `| view_submission answer → POST /compose, p50 (ms) | ${show(
      runs.map((r) => percentile(r.answerToPostMs, 50)),
      0,
    )} | | |`,
    `| view_submission answer → POST /compose, p99 (ms) | ${show(p99, 0)} | ≤ 1000 | ${verdict(median(p99) <= 1000)} |`,
    `| orders never sent | ${show(unsent, 0)} | 0 | ${verdict(Math.max(...unsent) === 0)} |`,
    `| forms the bot refused | ${show(
      runs.map((r) => r.refused),
      0,
    )} | 0 | |`,
    `| threads not one parent, its status reply and its result; POSTs beyond one an order | ${show(wrong, 0)} | 0 | ${verdict(Math.max(...wrong) === 0)} |`,
    `| first submission to every thread's result (wall s) | ${show(runs.map((r) => r.allEndedSeconds))} | | |`,
  ];
}
