import { aws } from '../../../src/providers/aws';
import { buildComposeRequest, getProvider, type Provider } from '../../../src/providers';
import type { BuildRequest } from '../../../src/store/store';

/*
 * Store rows as the tracker leaves them, so the views are fed exactly as in the app: through toBuildView and
 * outcomeOf. Times are fixed; the tests pass `NOW` as the clock.
 */

export const NOW = new Date('2025-03-01T12:00:00Z');
export const REQUESTER = 'U012ALICE';
export const COMPOSE_ID = '8d3c7f2e-1b4a-4c6d-9e0f-a1b2c3d4e5f6';

/** The request body the bot would have sent for this provider, with the options a person would have typed. */
export function composeRequestFor(
  provider: Provider,
  distribution = 'rhel-9',
  architecture: 'x86_64' | 'aarch64' = 'x86_64',
): string {
  const raw: Record<string, string> =
    {
      aws: { share_with_accounts: '123456789012' },
      gcp: { share_with: 'user:alice@example.com' },
      azure: {
        tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
        subscription_id: '4e5d8b2c-ab24-4413-90c5-612306e809e2',
        resource_group: 'my-images',
        hyper_v_generation: 'V2',
      },
    }[provider.id] ?? {};
  const options = provider.validate(raw);
  if (!options.ok) throw new Error(`fixture options for ${provider.id} are invalid: ${JSON.stringify(options.errors)}`);
  return JSON.stringify(
    buildComposeRequest({ provider, distribution, architecture, imageName: 'web-base', options: options.value }),
  );
}

export function buildRow(overrides: Partial<BuildRequest> = {}): BuildRequest {
  const provider = getProvider(overrides.provider ?? 'aws') ?? aws;
  return {
    id: '0b7f2c1e-2222-4333-8444-555566667777',
    orderId: null,
    orderIndex: null,
    blueprint: null,
    launchSettings: null,
    idempotencyKey: 'V0ABC',
    requesterId: REQUESTER,
    channelId: 'C012BUILDS',
    threadChannelId: 'C012BUILDS',
    threadChannelKind: 'public',
    responseUrl: null,
    provider: provider.id,
    distribution: 'rhel-9',
    architecture: 'x86_64',
    imageName: 'web-base',
    shareSummary: 'shared with AWS account 123456789012',
    composeRequest: composeRequestFor(provider),
    state: 'tracking',
    composeId: COMPOSE_ID,
    status: 'building',
    progressDone: 3,
    progressTotal: 7,
    finalImageStatus: null,
    rejection: null,
    parentTs: null,
    statusTs: null,
    resultTs: null,
    renderedParent: null,
    renderedStatus: null,
    createdAt: new Date('2025-03-01T10:00:00Z'),
    submittedAt: new Date('2025-03-01T10:00:01Z'),
    composeCreatedAt: new Date('2025-03-01T10:00:02Z'),
    finishedAt: null,
    expiresAt: null,
    nextPollAt: null,
    pollFailures: 0,
    rebuiltFrom: null,
    reminderTs: null,
    expiredNotedAt: null,
    approval: null,
    approvalExpiresAt: null,
    decision: null,
    decidedBy: null,
    decidedAt: null,
    decisionReason: null,
    approvalTs: null,
    renderedApproval: null,
    ...overrides,
  };
}

/** A row whose compose finished with the given final image_status. */
export function finishedRow(imageStatus: Record<string, unknown>, overrides: Partial<BuildRequest> = {}): BuildRequest {
  return buildRow({
    state: 'done',
    status: String(imageStatus.status),
    finalImageStatus: JSON.stringify(imageStatus),
    ...overrides,
  });
}

export const awsSuccess = (
  options: Record<string, unknown> = { ami: 'ami-0abc1234def567890', region: 'us-east-1' },
) => ({
  status: 'success',
  upload_status: { status: 'success', type: 'aws', options },
});
