import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import { imageStatusSchema } from '../imageBuilder';
import { providers } from '../providers';
import type { BuildRequest, BuildRequestStore, UserDefaultsStore } from '../store/store';
import type { Gatekeeper } from './authorization';
import { toBuildView } from './thread/projection';
import {
  HOME_APPROVALS_MAX,
  HOME_LIST_MAX,
  homeView,
  type HomeBuild,
  type HomeInput,
  type HomeList,
} from './views/homeTab';
import { waitingLineOf } from './thread/approvalMessage';

export type HomePublisher = (client: Pick<WebClient, 'views'>, userId: string) => Promise<void>;

/**
 * How far each list is read to say how many images are not shown. The store has no count, so rows are read; past
 * this the Home says "more than …" rather than read a team's whole history each time someone opens it.
 */
const HOME_COUNT_MAX = 500;

/**
 * Renders and publishes a user's App Home from the store: their images, and those of the team they may see (their
 * own and those followed in a public channel; never one followed in a private channel or a DM of someone else).
 */
export function createHomePublisher(deps: {
  store: Pick<BuildRequestStore, 'listNewest' | 'listAwaitingApproval'> & Pick<UserDefaultsStore, 'getDefaults'>;
  gate: Pick<Gatekeeper, 'wouldAllow' | 'approvals'>;
  clock: Clock;
  logger: Logger;
}): HomePublisher {
  return async (client, userId) => {
    const [mine, team, defaults, decision, awaitingApproval] = await Promise.all([
      deps.store.listNewest({ requesterId: userId, limit: HOME_COUNT_MAX + 1 }),
      deps.store.listNewest({ visibleTo: userId, limit: HOME_COUNT_MAX + 1 }),
      Promise.all(providers.map((p) => deps.store.getDefaults(userId, p.id))),
      deps.gate.wouldAllow(userId, null),
      awaitingApprovalOf(deps, userId),
    ]);
    await client.views.publish({
      user_id: userId,
      view: homeView({
        providers,
        mine: homeList(mine, userId),
        team: homeList(team, userId),
        hasDefaults: defaults.some((d) => d !== undefined && Object.keys(d).length > 0),
        ...(decision.allowed ? {} : { refusal: decision.reason }),
        ...(awaitingApproval ? { awaitingApproval } : {}),
        now: deps.clock.now(),
      }),
    });
  };
}

/** How many waiting requests are read to count them; past this the Home says "more". */
const APPROVALS_COUNT_MAX = 100;

/** For an approver, what waits for them: every waiting request but their own, which they may not decide on. */
async function awaitingApprovalOf(
  deps: Parameters<typeof createHomePublisher>[0],
  userId: string,
): Promise<HomeInput['awaitingApproval']> {
  const approvals = deps.gate.approvals;
  if (!approvals || !(await approvals.mayApprove(userId)).allowed) return undefined;
  const waiting = (await deps.store.listAwaitingApproval(APPROVALS_COUNT_MAX)).filter((r) => r.requesterId !== userId);
  const now = deps.clock.now();
  return {
    lines: waiting.slice(0, HOME_APPROVALS_MAX).map((request) => waitingLineOf(request, now)),
    total: waiting.length,
    channelId: approvals.channel,
  };
}

/** The rows shown, and how many there are (as far as they were read). */
function homeList(rows: readonly BuildRequest[], viewerId: string): HomeList {
  const lowerBound = rows.length > HOME_COUNT_MAX;
  return {
    builds: rows.slice(0, HOME_LIST_MAX).map((row) => homeBuild(row, viewerId)),
    total: lowerBound ? HOME_COUNT_MAX : rows.length,
    ...(lowerBound ? { totalIsLowerBound: true } : {}),
  };
}

function homeBuild(row: BuildRequest, viewerId: string): HomeBuild {
  // A download link is the image itself, for as long as it lasts: only its requester is shown it.
  const imageId = imageIdOf(row, { withDownloadLink: row.requesterId === viewerId });
  return {
    requestId: row.id,
    view: toBuildView(row),
    createdAt: row.createdAt,
    ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
    ...(imageId ? { imageId } : {}),
  };
}

/** The AMI, image name or download link of a finished build, read by upload type. */
function imageIdOf(row: BuildRequest, options: { withDownloadLink: boolean }): string | undefined {
  if (!row.finalImageStatus) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(row.finalImageStatus);
  } catch {
    // One unreadable row must not keep everyone's Home from being published.
    return undefined;
  }
  const parsed = imageStatusSchema.safeParse(json);
  const result = parsed.success ? parsed.data.upload_status?.result : undefined;
  if (!result) return undefined;
  if (result.type === 'aws') return result.ami;
  if (result.type === 'aws.s3' || result.type === 'oci.objectstorage')
    return options.withDownloadLink ? result.url : undefined;
  return result.image_name;
}
