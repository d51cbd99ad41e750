import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { imageStatusSchema } from '../imageBuilder';
import { providers } from '../providers';
import type { BuildRequest, BuildRequestStore, UserDefaultsStore } from '../tracking/store';
import type { Gatekeeper } from './authorization';
import { toBuildView } from './threadProjection';
import { HOME_LIST_MAX, homeView, type HomeBuild } from './views/homeTab';

export type HomePublisher = (client: Pick<WebClient, 'views'>, userId: string) => Promise<void>;

/** Renders and publishes a user's App Home from the store: their images and the team's. */
export function createHomePublisher(deps: {
  store: Pick<BuildRequestStore, 'listNewest'> & Pick<UserDefaultsStore, 'getDefaults'>;
  gate: Pick<Gatekeeper, 'wouldAllow'>;
  clock: Clock;
  logger: Logger;
}): HomePublisher {
  return async (client, userId) => {
    const [mine, team, defaults, decision] = await Promise.all([
      deps.store.listNewest({ requesterId: userId, limit: HOME_LIST_MAX + 1 }),
      deps.store.listNewest({ limit: HOME_LIST_MAX + 1 }),
      Promise.all(providers.map((p) => deps.store.getDefaults(userId, p.id))),
      deps.gate.wouldAllow(userId, null),
    ]);
    await client.views.publish({
      user_id: userId,
      view: homeView({
        providers,
        mine: mine.map(homeBuild),
        team: team.map(homeBuild),
        hasDefaults: defaults.some((d) => d !== undefined && Object.keys(d).length > 0),
        ...(decision.allowed ? {} : { refusal: decision.reason }),
        now: deps.clock.now(),
      }),
    });
  };
}

function homeBuild(row: BuildRequest): HomeBuild {
  const imageId = imageIdOf(row);
  return {
    requestId: row.id,
    view: toBuildView(row),
    createdAt: row.createdAt,
    ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
    ...(imageId ? { imageId } : {}),
  };
}

/** The AMI, image name or download link of a finished build, read by upload type. */
function imageIdOf(row: BuildRequest): string | undefined {
  if (!row.finalImageStatus) return undefined;
  const parsed = imageStatusSchema.safeParse(JSON.parse(row.finalImageStatus));
  const result = parsed.success ? parsed.data.upload_status?.result : undefined;
  if (!result) return undefined;
  if (result.type === 'aws') return result.ami;
  if (result.type === 'aws.s3' || result.type === 'oci.objectstorage') return result.url;
  return result.image_name;
}
