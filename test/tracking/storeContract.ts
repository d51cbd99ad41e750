import { EXPIRY_BATCH_SIZE, StoreError } from '../../src/store/rows';
import type {
  AuditEvent,
  BlueprintRef,
  BuildRequest,
  BuildRequestPatch,
  NewBuildRequest,
  OrderCompanion,
  Store,
} from '../../src/store/store';
import { newRequest } from './helpers';

/*
 * What every store does, whatever database is behind it: run by store.sqlite.test.ts and store.postgres.test.ts.
 * What only one database can show (files, WAL, connection failures) stays in that database's own tests.
 */

export interface StoreHarness {
  /**
   * Opens a store on this test's database: each call a new store on the same database, as after a restart or
   * in a second replica. Every store is closed after the test.
   */
  open(): Promise<Store>;
}

const minute = 60_000;
const day = 24 * 60 * minute;
const at = (minutes: number) => new Date(Date.UTC(2025, 2, 1, 10, 0) + minutes * minute);
const ids = (requests: { id: string }[]) => requests.map((r) => r.id);

/** What a build looks like once every field has been set, with awkward values where they matter. */
const everythingSet: Required<BuildRequestPatch> = {
  threadChannelId: 'D012ALICE',
  threadChannelKind: 'dm',
  responseUrl: null,
  state: 'done',
  composeId: '2a8b7c6d-0000-4000-8000-000000000001',
  status: 'success',
  progressDone: 0,
  progressTotal: 9_007_199_254_740_991,
  finalImageStatus: JSON.stringify({ status: 'success', upload_status: { type: 'aws', options: { ami: 'ami-1' } } }),
  rejection: 'Quota exceeded — «résumé» 🚀',
  parentTs: '1709287200.000100',
  statusTs: '1709287201.000200',
  resultTs: '1709289000.000300',
  renderedParent: '{"blocks":[]}',
  renderedStatus: '',
  submittedAt: new Date('2025-03-01T10:00:01.001Z'),
  composeCreatedAt: new Date('2025-03-01T10:00:02.999Z'),
  finishedAt: new Date('2025-03-01T10:25:00.000Z'),
  expiresAt: new Date('2025-03-15T10:00:02.999Z'),
  nextPollAt: new Date('1970-01-01T00:00:00.000Z'),
  pollFailures: 7,
  reminderTs: '1710324000.000400',
  expiredNotedAt: new Date('2025-03-15T10:01:00.000Z'),
  decision: 'approved',
  decidedBy: 'U0APPROVER',
  decidedAt: new Date('2025-03-01T09:59:00.000Z'),
  decisionReason: 'ok — «résumé»',
  approvalTs: '1709287100.000500',
  renderedApproval: '{"blocks":[]}',
};

/** A build that finished, by default successfully, with its image expiring at `expiresAt`. */
async function finishedBuild(
  store: Store,
  expiresAt: Date | null,
  patch: BuildRequestPatch = {},
  request: Partial<NewBuildRequest> = {},
) {
  const { request: inserted } = await store.insert(newRequest(request));
  return store.update(inserted.id, {
    state: 'done',
    status: 'success',
    composeId: `compose-${inserted.id}`,
    expiresAt,
    ...patch,
  });
}

export function describeStoreContract(harness: StoreHarness): void {
  const open = () => harness.open();

  describe('keeping requests', () => {
    it('returns a new request as submitting, with nothing else known yet', async () => {
      const store = await open();
      const request = newRequest({ imageName: null, responseUrl: null, idempotencyKey: null });

      const { request: saved, created } = await store.insert(request);

      expect(created).toBe(true);
      const expected: BuildRequest = {
        ...request,
        orderId: null,
        orderIndex: null,
        blueprint: null,
        launchSettings: null,
        threadChannelId: null,
        threadChannelKind: null,
        state: 'submitting',
        composeId: null,
        status: null,
        progressDone: null,
        progressTotal: null,
        finalImageStatus: null,
        rejection: null,
        parentTs: null,
        statusTs: null,
        resultTs: null,
        renderedParent: null,
        renderedStatus: null,
        submittedAt: null,
        composeCreatedAt: null,
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
      };
      expect(saved).toEqual(expected);
      expect(await store.get(request.id)).toEqual(expected);
    });

    it('reads back every field exactly as written: text, numbers, dates to the millisecond and nulls', async () => {
      const store = await open();
      const id = '7c1d3e5f-0000-4000-8000-000000000007';
      const request = newRequest({
        id,
        composeRequest: JSON.stringify({ customizations: { users: [{ name: 'ü' }] } }),
        launchSettings: JSON.stringify({ key_name: 'ops «key»', copy_to_regions: ['eu-west-1'] }),
        rebuiltFrom: '5f0c2e9a-0000-4000-8000-000000000000',
        orderId: id,
        orderIndex: 0,
        blueprint: {
          id: 'b1d2f3a4-0000-4000-8000-000000000001',
          name: 'rhel9-golden «é»',
          version: 12,
          targets: 'requester',
        },
        approval: {
          reasons: ['«é» 🚀'],
          approvers: '<@U0APPROVER>',
          channelId: 'C0APPROVALS',
          policyChannel: null,
          shareTargets: [{ fieldId: 'share_with_accounts', kind: 'aws-account', value: '012345678901' }],
        },
        approvalExpiresAt: new Date('2025-03-04T10:00:00.001Z'),
      });
      await store.insert(request);

      const updated = await store.update(request.id, everythingSet);

      expect(updated).toEqual({ ...request, ...everythingSet });
      expect(await store.get(request.id)).toEqual({ ...request, ...everythingSet });
      expect(updated.createdAt).toBeInstanceOf(Date);
      expect(updated.createdAt.getTime()).toBe(request.createdAt.getTime());
    });

    it('answers undefined for a request it does not have', async () => {
      expect(await (await open()).get('no-such-id')).toBeUndefined();
    });

    it('keeps every request after the bot restarts', async () => {
      const first = await open();
      const request = newRequest();
      await first.insert(request);
      await first.update(request.id, { state: 'tracking', composeId: 'compose-1', parentTs: '1.2' });
      await first.close();

      const second = await open();

      expect(await second.get(request.id)).toMatchObject({
        state: 'tracking',
        composeId: 'compose-1',
        parentTs: '1.2',
      });
      expect((await second.listUnfinished()).map((r) => r.id)).toEqual([request.id]);
    });

    it('pings a store that can be written', async () => {
      await expect((await open()).ping()).resolves.toBeUndefined();
    });

    it('closes cleanly, also when closed twice', async () => {
      const store = await open();
      await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0));

      await expect(store.close()).resolves.toBeUndefined();
      await expect(store.close()).resolves.toBeUndefined();
    });
  });

  describe('a submission delivered twice', () => {
    it('returns the first request and writes nothing when the idempotency key is seen again', async () => {
      const store = await open();
      const first = newRequest({ idempotencyKey: 'V0VIEW1' });
      const again = newRequest({ idempotencyKey: 'V0VIEW1', imageName: 'other', createdAt: new Date() });
      await store.insert(first);
      await store.update(first.id, { state: 'tracking', composeId: 'compose-1' });

      const result = await store.insert(again);

      expect(result.created).toBe(false);
      expect(result.request).toMatchObject({ id: first.id, imageName: 'web-base', state: 'tracking' });
      expect(await store.get(again.id)).toBeUndefined();
      expect(
        await store.listRecent({ requesterId: first.requesterId, channelId: first.channelId, limit: 10 }),
      ).toHaveLength(1);
    });

    it('finds the request by its idempotency key, before anything is inserted again', async () => {
      const store = await open();
      const first = newRequest({ idempotencyKey: 'V0VIEW2' });
      expect(await store.getByIdempotencyKey('V0VIEW2')).toBeUndefined();
      await store.insert(first);

      expect(await store.getByIdempotencyKey('V0VIEW2')).toMatchObject({ id: first.id });
      expect(await store.getByIdempotencyKey('V0OTHER')).toBeUndefined();
    });

    it('treats the very same request inserted twice as one', async () => {
      const store = await open();
      const request = newRequest();
      await store.insert(request);

      const result = await store.insert(request);

      expect(result).toEqual({ request: expect.objectContaining({ id: request.id }), created: false });
    });

    it('accepts any number of requests without an idempotency key', async () => {
      const store = await open();
      const results = [];
      for (let i = 0; i < 3; i += 1) results.push(await store.insert(newRequest({ idempotencyKey: null })));

      expect(results.map((r) => r.created)).toEqual([true, true, true]);
    });

    it('creates one request when the same submission arrives at two replicas at once', async () => {
      const replicas = [await open(), await open()];
      const attempts = Array.from({ length: 8 }, () => newRequest({ idempotencyKey: 'V0RACE' }));

      const results = await Promise.all(attempts.map((request, i) => replicas[i % 2]!.insert(request)));

      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.request.id;
      expect(results.map((r) => r.request.id)).toEqual(attempts.map(() => winner));
      expect(await replicas[0]!.listNewest({ limit: 10 })).toHaveLength(1);
    });
  });

  describe('updating a request', () => {
    it('changes only the fields given and leaves the rest as they were', async () => {
      const store = await open();
      const request = newRequest();
      await store.insert(request);
      await store.update(request.id, { state: 'tracking', composeId: 'compose-1', parentTs: '1.1' });

      const updated = await store.update(request.id, { status: 'building', progressDone: 3, progressTotal: 9 });

      expect(updated).toMatchObject({
        ...request,
        state: 'tracking',
        composeId: 'compose-1',
        parentTs: '1.1',
        status: 'building',
        progressDone: 3,
        progressTotal: 9,
        statusTs: null,
      });
      expect(await store.get(request.id)).toEqual(updated);
    });

    it('clears a field set to null and ignores one set to undefined', async () => {
      const store = await open();
      const request = newRequest();
      await store.insert(request);
      await store.update(request.id, { nextPollAt: new Date('2025-03-01T10:01:00Z'), status: 'pending' });

      const updated = await store.update(request.id, { nextPollAt: null, status: undefined });

      expect(updated).toMatchObject({ nextPollAt: null, status: 'pending', responseUrl: request.responseUrl });
    });

    it('returns the request unchanged for an empty patch', async () => {
      const store = await open();
      const request = newRequest();
      const { request: saved } = await store.insert(request);

      expect(await store.update(request.id, {})).toEqual(saved);
    });

    it('fails with a not-found error naming the id when there is no such request', async () => {
      const store = await open();

      await expect(store.update('missing-id', { state: 'done' })).rejects.toMatchObject({
        name: 'StoreError',
        kind: 'not-found',
        message: expect.stringContaining('missing-id'),
      });
      await expect(store.update('missing-id', {})).rejects.toBeInstanceOf(StoreError);
    });

    it('refuses to change what the user asked for, whatever slips past the types', async () => {
      const store = await open();
      const request = newRequest();
      await store.insert(request);

      await expect(store.update(request.id, { id: 'other' } as BuildRequestPatch)).rejects.toThrow(/id/);
      await expect(store.update(request.id, { createdAt: new Date() } as BuildRequestPatch)).rejects.toThrow(
        /createdAt/,
      );
      await expect(store.update(request.id, { colour: 'red' } as BuildRequestPatch)).rejects.toThrow(/colour/);
      expect(await store.get(request.id)).toMatchObject({ id: request.id, createdAt: request.createdAt });
    });

    it('refuses an invalid date instead of storing it', async () => {
      const store = await open();
      const request = newRequest();
      await store.insert(request);

      await expect(store.update(request.id, { nextPollAt: new Date('not a date') })).rejects.toThrow(/nextPollAt/);
    });
  });

  describe('listing', () => {
    it('lists the requests still to look after, oldest first', async () => {
      const store = await open();
      const late = newRequest({ createdAt: at(30) });
      const early = newRequest({ createdAt: at(10) });
      const rejected = newRequest({ createdAt: at(5) });
      const done = newRequest({ createdAt: at(1) });
      const middle = newRequest({ createdAt: at(20) });
      for (const r of [late, early, rejected, done, middle]) await store.insert(r);
      await store.update(early.id, { state: 'tracking', composeId: 'c-early' });
      await store.update(rejected.id, { state: 'rejected', rejection: 'quota' });
      await store.update(done.id, { state: 'done' });

      const unfinished = await store.listUnfinished();

      expect(unfinished.map((r) => r.id)).toEqual([early.id, middle.id, late.id]);
      expect(unfinished.map((r) => r.state)).toEqual(['tracking', 'submitting', 'submitting']);
      expect(await store.countUnfinished()).toBe(3);
    });

    it('keeps insertion order between requests made in the same millisecond', async () => {
      const store = await open();
      const requests = [newRequest(), newRequest(), newRequest()];
      for (const r of requests) await store.insert(r);

      expect((await store.listUnfinished()).map((r) => r.id)).toEqual(requests.map((r) => r.id));
      expect(
        (await store.listRecent({ requesterId: 'U012ALICE', channelId: 'C0', limit: 3 })).map((r) => r.id),
      ).toEqual(requests.map((r) => r.id).reverse());
    });

    it("lists a user's or a channel's newest requests first, up to the limit", async () => {
      const store = await open();
      const mineHere = newRequest({ requesterId: 'U_ME', channelId: 'C_HERE', createdAt: at(1) });
      const mineElsewhere = newRequest({ requesterId: 'U_ME', channelId: 'C_ELSEWHERE', createdAt: at(3) });
      const othersHere = newRequest({ requesterId: 'U_BOB', channelId: 'C_HERE', createdAt: at(2) });
      const othersElsewhere = newRequest({ requesterId: 'U_BOB', channelId: 'C_ELSEWHERE', createdAt: at(4) });
      const newestMine = newRequest({ requesterId: 'U_ME', channelId: 'C_HERE', createdAt: at(5) });
      for (const r of [mineHere, mineElsewhere, othersHere, othersElsewhere, newestMine]) await store.insert(r);
      await store.update(mineHere.id, { state: 'done' });

      const recent = await store.listRecent({ requesterId: 'U_ME', channelId: 'C_HERE', limit: 10 });
      const limited = await store.listRecent({ requesterId: 'U_ME', channelId: 'C_HERE', limit: 2 });

      expect(recent.map((r) => r.id)).toEqual([newestMine.id, mineElsewhere.id, othersHere.id, mineHere.id]);
      expect(limited.map((r) => r.id)).toEqual([newestMine.id, mineElsewhere.id]);
    });

    it('lists nothing for a limit of 0 and refuses a negative limit', async () => {
      const store = await open();
      await store.insert(newRequest());

      expect(await store.listRecent({ requesterId: 'U012ALICE', channelId: 'C012BUILDS', limit: 0 })).toEqual([]);
      await expect(store.listRecent({ requesterId: 'U012ALICE', channelId: 'C012BUILDS', limit: -1 })).rejects.toThrow(
        RangeError,
      );
    });
  });

  describe('rebuilds', () => {
    it('remembers which request a rebuild came from', async () => {
      const store = await open();
      const original = newRequest();
      const rebuild = newRequest({ rebuiltFrom: original.id });
      await store.insert(original);

      const { request: saved } = await store.insert(rebuild);

      expect(saved.rebuiltFrom).toBe(original.id);
      expect((await store.get(rebuild.id))?.rebuiltFrom).toBe(original.id);
      expect((await store.get(original.id))?.rebuiltFrom).toBeNull();
    });

    it('never changes the request a rebuild came from', async () => {
      const store = await open();
      const rebuild = newRequest({ rebuiltFrom: 'original-id' });
      await store.insert(rebuild);

      await expect(store.update(rebuild.id, { rebuiltFrom: 'other' } as BuildRequestPatch)).rejects.toThrow(
        /rebuiltFrom/,
      );
      expect((await store.get(rebuild.id))?.rebuiltFrom).toBe('original-id');
    });
  });

  describe('the newest requests', () => {
    it("lists everyone's newest requests first, whatever became of them, up to the limit", async () => {
      const store = await open();
      const alice1 = newRequest({ requesterId: 'U_ALICE', channelId: 'C_ONE', createdAt: at(1) });
      const bob = newRequest({ requesterId: 'U_BOB', channelId: 'C_TWO', createdAt: at(3) });
      const alice2 = newRequest({ requesterId: 'U_ALICE', channelId: 'C_TWO', createdAt: at(2) });
      const carol = newRequest({ requesterId: 'U_CAROL', channelId: 'C_ONE', createdAt: at(4) });
      for (const r of [alice1, bob, alice2, carol]) await store.insert(r);
      await store.update(bob.id, { state: 'rejected', rejection: 'quota' });
      await store.update(alice2.id, { state: 'done', status: 'failure' });

      expect(ids(await store.listNewest({ limit: 10 }))).toEqual(ids([carol, bob, alice2, alice1]));
      expect(ids(await store.listNewest({ limit: 2 }))).toEqual(ids([carol, bob]));
    });

    it("lists only one user's requests when a requester is given", async () => {
      const store = await open();
      const older = newRequest({ requesterId: 'U_ALICE', createdAt: at(1) });
      const others = newRequest({ requesterId: 'U_BOB', createdAt: at(2) });
      const newer = newRequest({ requesterId: 'U_ALICE', channelId: 'C_ELSEWHERE', createdAt: at(3) });
      for (const r of [older, others, newer]) await store.insert(r);

      expect(ids(await store.listNewest({ requesterId: 'U_ALICE', limit: 10 }))).toEqual(ids([newer, older]));
      expect(ids(await store.listNewest({ requesterId: 'U_ALICE', limit: 1 }))).toEqual(ids([newer]));
      expect(await store.listNewest({ requesterId: 'U_NOBODY', limit: 10 })).toEqual([]);
    });

    it('lists, for one viewer, their own requests and those followed in a public channel, none other', async () => {
      const store = await open();
      const kinds = { own: 'private', publicOne: 'public', privateOne: 'private', dm: 'dm', unknown: null } as const;
      const made: Record<string, string> = {};
      let step = 0;
      for (const [name, kind] of Object.entries(kinds)) {
        const request = newRequest({ requesterId: name === 'own' ? 'U_ALICE' : 'U_BOB', createdAt: at((step += 1)) });
        await store.insert(request);
        if (kind) await store.update(request.id, { threadChannelId: 'C_ONE', threadChannelKind: kind });
        made[name] = request.id;
      }

      expect(await store.listNewest({ visibleTo: 'U_ALICE', limit: 10 }).then(ids)).toEqual([made.publicOne, made.own]);
      expect(await store.listNewest({ visibleTo: 'U_ALICE', limit: 1 }).then(ids)).toEqual([made.publicOne]);
      expect((await store.listNewest({ visibleTo: 'U_CAROL', limit: 10 })).map((r) => r.threadChannelKind)).toEqual([
        'public',
      ]);
    });

    it('finds the request behind a compose, and nothing for a compose it did not make', async () => {
      const store = await open();
      const request = newRequest();
      await store.insert(request);
      await store.insert(newRequest());
      await store.update(request.id, { state: 'tracking', composeId: '2a8b7c6d-0000-4000-8000-00000000beef' });

      expect((await store.findByComposeId('2a8b7c6d-0000-4000-8000-00000000beef'))?.id).toBe(request.id);
      expect(await store.findByComposeId('2a8b7c6d-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('puts the later of two requests made in the same millisecond first', async () => {
      const store = await open();
      const requests = [newRequest(), newRequest(), newRequest()];
      for (const r of requests) await store.insert(r);

      expect(ids(await store.listNewest({ limit: 3 }))).toEqual(ids(requests).reverse());
      expect(ids(await store.listNewest({ requesterId: 'U012ALICE', limit: 3 }))).toEqual(ids(requests).reverse());
    });

    it('lists nothing for a limit of 0 and refuses a negative or fractional limit', async () => {
      const store = await open();
      await store.insert(newRequest());

      expect(await store.listNewest({ limit: 0 })).toEqual([]);
      await expect(store.listNewest({ limit: -1 })).rejects.toThrow(RangeError);
      await expect(store.listNewest({ requesterId: 'U012ALICE', limit: 1.5 })).rejects.toThrow(RangeError);
    });
  });

  describe('counting for policy limits', () => {
    it('counts submitting and tracking requests as in flight, however old they are', async () => {
      const store = await open();
      const submitting = newRequest({ createdAt: new Date(at(0).getTime() - 10 * day) });
      const tracking = newRequest({ createdAt: at(1) });
      const rejected = newRequest({ createdAt: at(2) });
      const done = newRequest({ createdAt: at(3) });
      for (const r of [submitting, tracking, rejected, done]) await store.insert(r);
      await store.update(tracking.id, { state: 'tracking', composeId: 'c-1' });
      await store.update(rejected.id, { state: 'rejected', rejection: 'quota' });
      await store.update(done.id, { state: 'done', status: 'success' });

      expect(await store.countForRequester('U012ALICE', at(60))).toEqual({ inFlight: 2, since: 0 });
    });

    it('counts every request made from exactly `since` on, rejected and finished ones included', async () => {
      const store = await open();
      const since = at(0);
      const justBefore = newRequest({ createdAt: new Date(since.getTime() - 1) });
      const exactly = newRequest({ createdAt: since });
      const rejected = newRequest({ createdAt: at(5) });
      const done = newRequest({ createdAt: at(6) });
      for (const r of [justBefore, exactly, rejected, done]) await store.insert(r);
      await store.update(exactly.id, { state: 'tracking', composeId: 'c-1' });
      await store.update(rejected.id, { state: 'rejected', rejection: 'quota' });
      await store.update(done.id, { state: 'done', status: 'failure' });

      expect(await store.countForRequester('U012ALICE', since)).toEqual({ inFlight: 2, since: 3 });
    });

    it("counts only the given user's requests", async () => {
      const store = await open();
      await store.insert(newRequest({ requesterId: 'U_ALICE', createdAt: at(1) }));
      await store.insert(newRequest({ requesterId: 'U_BOB', createdAt: at(1) }));
      await store.insert(newRequest({ requesterId: 'U_BOB', createdAt: at(2) }));

      expect(await store.countForRequester('U_ALICE', at(0))).toEqual({ inFlight: 1, since: 1 });
      expect(await store.countForRequester('U_BOB', at(0))).toEqual({ inFlight: 2, since: 2 });
      expect(await store.countForRequester('U_NOBODY', at(0))).toEqual({ inFlight: 0, since: 0 });
    });

    it('refuses an invalid date', async () => {
      await expect((await open()).countForRequester('U_ALICE', new Date('not a date'))).rejects.toThrow(/since/);
    });
  });

  describe('approvals', () => {
    const approval = {
      reasons: ['Every request made in <#C012BUILDS> needs approval (policy approvals.required_in).'],
      approvers: '<@U0APPROVER>',
      channelId: 'C0APPROVALS',
      policyChannel: 'C012BUILDS',
      shareTargets: [{ fieldId: 'share_with_accounts', kind: 'aws-account', value: '123456789012' }],
    };
    /** A request announced to the approvers, as the tracker leaves it. */
    async function waiting(store: Store, expiresAt = at(60), overrides: Partial<NewBuildRequest> = {}) {
      const { request } = await store.insert(newRequest({ approval, approvalExpiresAt: expiresAt, ...overrides }));
      return store.update(request.id, { state: 'awaiting-approval', approvalTs: '1709287100.000500' });
    }

    it('keeps why a request waits and until when, and never hands a waiting request to the poller', async () => {
      const store = await open();
      const request = await waiting(store);

      expect(await store.get(request.id)).toMatchObject({ approval, approvalExpiresAt: at(60), decision: null });
      expect(await store.claimDue('replica-a', at(0), minute, 10)).toEqual([]);
      expect(ids(await store.listUnfinished())).toEqual([]);
      expect(ids(await store.listAwaitingApproval(10))).toEqual([request.id]);
    });

    it('records one decision of several made at once, and hands the request back to be submitted', async () => {
      const store = await open();
      const other = await open();
      const request = await waiting(store);

      const decisions = await Promise.all([
        store.decideApproval(request.id, { decision: 'approved', by: 'U0APPROVER', at: at(1) }),
        other.decideApproval(request.id, { decision: 'approved', by: 'U0APPROVER', at: at(1) }),
        other.decideApproval(request.id, { decision: 'denied', by: 'U0OTHER', at: at(1), reason: 'no' }),
      ]);

      const recorded = decisions.filter((d) => d !== undefined);
      expect(recorded).toHaveLength(1);
      expect(await store.get(request.id)).toEqual(recorded[0]);
      expect(recorded[0]).toMatchObject({ state: 'submitting', decidedAt: at(1), nextPollAt: null });
      expect(ids(await store.claimDue('replica-a', at(2), minute, 10))).toEqual([request.id]);
    });

    it('records a denial with its reason, and decides nothing on a request that does not wait', async () => {
      const store = await open();
      const request = await waiting(store);
      const { request: plain } = await store.insert(newRequest());

      const denied = await store.decideApproval(request.id, {
        decision: 'denied',
        by: 'U0OTHER',
        at: at(1),
        reason: 'why?',
      });

      expect(denied).toMatchObject({ decision: 'denied', decidedBy: 'U0OTHER', decisionReason: 'why?' });
      expect(await store.decideApproval(plain.id, { decision: 'approved', by: 'U0OTHER', at: at(1) })).toBeUndefined();
      expect(await store.decideApproval('nobody', { decision: 'approved', by: 'U0OTHER', at: at(1) })).toBeUndefined();
    });

    it('expires, once, only the requests still waiting past their expiry', async () => {
      const store = await open();
      const other = await open();
      const early = await waiting(store, at(10));
      const late = await waiting(store, at(100));

      const [first, second] = await Promise.all([store.expireApprovals(at(10)), other.expireApprovals(at(10))]);

      expect(ids([...first, ...second])).toEqual([early.id]);
      expect(await store.get(early.id)).toMatchObject({ state: 'submitting', decision: 'expired', decidedBy: null });
      expect((await store.get(late.id))!.state).toBe('awaiting-approval');
    });

    it('counts a waiting request as in flight for the limits', async () => {
      const store = await open();
      await waiting(store);
      expect(await store.countForRequester('U012ALICE', at(0))).toEqual({ inFlight: 1, since: 1 });
    });

    it('writes a request over a limit to wait instead, with the limit among its reasons', async () => {
      const store = await open();
      await store.insert(newRequest());
      const request = newRequest();

      const saved = await store.insertWithinLimits(request, {
        since: at(0),
        refusal: (counts) => (counts.inFlight >= 1 ? 'over the limit' : undefined),
        waitInstead: { approval: { ...approval, reasons: [] }, expiresAt: at(60) },
      });

      expect(saved).toMatchObject({ created: true, request: { state: 'submitting', approvalExpiresAt: at(60) } });
      expect((await store.get(request.id))!.approval!.reasons).toEqual(['over the limit']);
    });
  });

  describe('inserting within the per-user limits', () => {
    /** At most `max` in flight, as the policy's in_flight_per_user says it. */
    const atMostInFlight = (max: number) => ({
      since: at(0),
      refusal: (counts: { inFlight: number }) =>
        counts.inFlight >= max ? `already ${counts.inFlight} in flight` : undefined,
    });

    it('inserts the request when the limits allow it, judged on the requester’s counts', async () => {
      const store = await open();
      await store.insert(newRequest({ createdAt: at(-1) }));
      await store.insert(newRequest({ createdAt: at(1) }));
      await store.insert(newRequest({ requesterId: 'U_BOB', createdAt: at(1) }));
      const seen: unknown[] = [];
      const request = newRequest({ createdAt: at(2) });

      const result = await store.insertWithinLimits(request, {
        since: at(0),
        refusal: (counts) => void seen.push(counts),
      });

      expect(seen).toEqual([{ inFlight: 2, since: 1 }]);
      expect(result).toEqual({ request: await store.get(request.id), created: true });
      expect(await store.countForRequester('U012ALICE', at(0))).toEqual({ inFlight: 3, since: 2 });
    });

    it('writes nothing and says why when a limit refuses the request', async () => {
      const store = await open();
      const first = newRequest();
      await store.insert(first);
      const second = newRequest();

      expect(await store.insertWithinLimits(second, atMostInFlight(1))).toEqual({ refused: 'already 1 in flight' });
      expect(await store.get(second.id)).toBeUndefined();
      expect(ids(await store.listNewest({ limit: 10 }))).toEqual([first.id]);
    });

    it('returns the request already saved under the same key without counting it again', async () => {
      const store = await open();
      const request = newRequest();
      expect(await store.insertWithinLimits(request, atMostInFlight(1))).toMatchObject({ created: true });

      const again = await store.insertWithinLimits({ ...request, id: 'another-id' }, atMostInFlight(1));

      expect(again).toEqual({ request: await store.get(request.id), created: false });
      expect(await store.listNewest({ limit: 10 })).toHaveLength(1);
    });

    it('lets exactly one of many concurrent submissions past a limit of one, from two stores on one database', async () => {
      const [a, b] = [await open(), await open()];
      const requests = Array.from({ length: 20 }, () => newRequest());

      const results = await Promise.all(
        requests.map((request, i) => (i % 2 === 0 ? a : b).insertWithinLimits(request, atMostInFlight(1))),
      );

      expect(results.filter((result) => 'created' in result && result.created)).toHaveLength(1);
      expect(results.filter((result) => 'refused' in result)).toHaveLength(19);
      expect(await a.countForRequester('U012ALICE', at(0))).toEqual({ inFlight: 1, since: 1 });
    });

    it('refuses an invalid date', async () => {
      await expect(
        (await open()).insertWithinLimits(newRequest(), { since: new Date('x'), refusal: () => undefined }),
      ).rejects.toThrow(/since/);
    });
  });

  describe('expiry reminders', () => {
    const now = at(0);
    const within = 2 * day;

    it('lists successful builds whose image expires after now and within the window, soonest first', async () => {
      const store = await open();
      const atWindowEnd = await finishedBuild(store, new Date(now.getTime() + within));
      const pastWindow = await finishedBuild(store, new Date(now.getTime() + within + 1));
      const soonest = await finishedBuild(store, new Date(now.getTime() + 1));
      const expiringExactlyNow = await finishedBuild(store, now);
      const alreadyExpired = await finishedBuild(store, new Date(now.getTime() - day));
      const middle = await finishedBuild(store, new Date(now.getTime() + day));

      const due = await store.listNeedingReminder(now, within);

      expect(ids(due)).toEqual(ids([soonest, middle, atWindowEnd]));
      expect(ids(due)).not.toContain(pastWindow.id);
      expect(ids(due)).not.toContain(expiringExactlyNow.id);
      expect(ids(due)).not.toContain(alreadyExpired.id);
    });

    it('leaves out failed and unfinished builds and builds with no known expiry', async () => {
      const store = await open();
      const inWindow = new Date(now.getTime() + day);
      const remind = await finishedBuild(store, inWindow);
      await finishedBuild(store, inWindow, { status: 'failure' });
      await finishedBuild(store, inWindow, { state: 'tracking' });
      await finishedBuild(store, null);

      expect(ids(await store.listNeedingReminder(now, within))).toEqual([remind.id]);
    });

    it('does not list a build again once its reminder was posted, also after a restart', async () => {
      const store = await open();
      const reminded = await finishedBuild(store, new Date(now.getTime() + day));
      const pending = await finishedBuild(store, new Date(now.getTime() + day + 1));

      const updated = await store.update(reminded.id, { reminderTs: '1740823200.000500' });
      await store.close();

      expect(updated.reminderTs).toBe('1740823200.000500');
      expect(ids(await (await open()).listNeedingReminder(now, within))).toEqual([pending.id]);
    });

    it('hands a backlog out in batches, soonest first, until every reminder is posted', async () => {
      const store = await open();
      const backlog = [];
      // Latest expiry inserted first, so the order can only come from the expiry.
      for (let i = EXPIRY_BATCH_SIZE; i >= 0; i -= 1)
        backlog.unshift(await finishedBuild(store, new Date(now.getTime() + 1 + i)));

      const first = await store.listNeedingReminder(now, within);
      for (const r of first) await store.update(r.id, { reminderTs: `ts-${r.id}` });
      const second = await store.listNeedingReminder(now, within);

      expect(EXPIRY_BATCH_SIZE).toBe(100);
      expect(ids(first)).toEqual(ids(backlog.slice(0, EXPIRY_BATCH_SIZE)));
      expect(ids(second)).toEqual(ids(backlog.slice(EXPIRY_BATCH_SIZE)));
    });

    it('lists nothing for an empty window and refuses a negative one', async () => {
      const store = await open();
      await finishedBuild(store, new Date(now.getTime() + 1));

      expect(await store.listNeedingReminder(now, 0)).toEqual([]);
      await expect(store.listNeedingReminder(now, -1)).rejects.toThrow(RangeError);
      await expect(store.listNeedingReminder(now, Number.NaN)).rejects.toThrow(RangeError);
    });
  });

  describe('expired images', () => {
    const now = at(0);

    it('lists successful builds whose image expired by now, exactly now included, oldest expiry first', async () => {
      const store = await open();
      const exactlyNow = await finishedBuild(store, now);
      const notYet = await finishedBuild(store, new Date(now.getTime() + 1));
      const longAgo = await finishedBuild(store, new Date(now.getTime() - 7 * day));
      const aMomentAgo = await finishedBuild(store, new Date(now.getTime() - 1), { reminderTs: '1.1' });

      const expired = await store.listNewlyExpired(now);

      expect(ids(expired)).toEqual(ids([longAgo, aMomentAgo, exactlyNow]));
      expect(ids(expired)).not.toContain(notYet.id);
    });

    it('lists an expired build whose reminder was never posted (the bot was down through the window)', async () => {
      const store = await open();
      const missedReminder = await finishedBuild(store, new Date(now.getTime() - day));

      expect(ids(await store.listNewlyExpired(now))).toEqual([missedReminder.id]);
      expect(await store.listNeedingReminder(now, 3 * day)).toEqual([]);
    });

    it('does not list a build again once its result says the image expired', async () => {
      const store = await open();
      const noted = await finishedBuild(store, new Date(now.getTime() - 2));
      const pending = await finishedBuild(store, new Date(now.getTime() - 1));

      const updated = await store.update(noted.id, { expiredNotedAt: now });

      expect(updated.expiredNotedAt).toEqual(now);
      expect(ids(await store.listNewlyExpired(now))).toEqual([pending.id]);
    });

    it('leaves out failed and unfinished builds and builds with no known expiry', async () => {
      const store = await open();
      const expiredAt = new Date(now.getTime() - day);
      const expired = await finishedBuild(store, expiredAt);
      await finishedBuild(store, expiredAt, { status: 'failure' });
      await finishedBuild(store, expiredAt, { state: 'tracking' });
      await finishedBuild(store, null);

      expect(ids(await store.listNewlyExpired(now))).toEqual([expired.id]);
    });

    it('hands a backlog out in batches, oldest expiry first', async () => {
      const store = await open();
      const backlog = [];
      for (let i = 0; i <= EXPIRY_BATCH_SIZE; i += 1)
        backlog.push(await finishedBuild(store, new Date(now.getTime() - day + i)));

      const first = await store.listNewlyExpired(now);
      for (const r of first) await store.update(r.id, { expiredNotedAt: now });
      const second = await store.listNewlyExpired(now);

      expect(ids(first)).toEqual(ids(backlog.slice(0, EXPIRY_BATCH_SIZE)));
      expect(ids(second)).toEqual(ids(backlog.slice(EXPIRY_BATCH_SIZE)));
    });
  });

  describe('remembered modal values', () => {
    it('gives back what a user last saved for a cloud, and nothing for another cloud or user', async () => {
      const store = await open();
      const values = { region: 'eu-west-1', accounts: '123456789012, 210987654321', note: 'résumé 🚀', empty: '' };

      await store.saveDefaults('U_ALICE', 'aws', values, at(0));

      expect(await store.getDefaults('U_ALICE', 'aws')).toEqual(values);
      expect(await store.getDefaults('U_ALICE', 'gcp')).toBeUndefined();
      expect(await store.getDefaults('U_BOB', 'aws')).toBeUndefined();
    });

    it('replaces the earlier values rather than merging them, and keeps them across a restart', async () => {
      const store = await open();
      await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1', accounts: '123456789012' }, at(0));

      await store.saveDefaults('U_ALICE', 'aws', { region: 'us-east-1' }, at(5));
      await store.close();

      expect(await (await open()).getDefaults('U_ALICE', 'aws')).toEqual({ region: 'us-east-1' });
    });

    it("forgets every cloud's values of one user, says how many, and leaves other users' alone", async () => {
      const store = await open();
      await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0));
      await store.saveDefaults('U_ALICE', 'gcp', { project: 'web' }, at(0));
      await store.saveDefaults('U_BOB', 'aws', { region: 'us-east-1' }, at(0));

      expect(await store.clearDefaults('U_ALICE')).toBe(2);

      expect(await store.getDefaults('U_ALICE', 'aws')).toBeUndefined();
      expect(await store.getDefaults('U_ALICE', 'gcp')).toBeUndefined();
      expect(await store.getDefaults('U_BOB', 'aws')).toEqual({ region: 'us-east-1' });
      expect(await store.clearDefaults('U_ALICE')).toBe(0);
    });

    it.each([
      ['a nested object', { region: { name: 'eu' } }, /"region" is an object/],
      ['a number', { count: 3 }, /"count" is a number/],
      ['a null value', { region: null }, /"region" is null/],
      ['an array', ['eu-west-1'], /got an array/],
      ['null', null, /got null/],
      ['a bare string', 'eu-west-1', /got a string/],
    ])('refuses %s with a message saying values must be text, and saves nothing', async (_, values, reason) => {
      const store = await open();
      await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0));

      const saving = store.saveDefaults('U_ALICE', 'aws', values as unknown as Record<string, string>, at(1));

      await expect(saving).rejects.toThrow(TypeError);
      await expect(saving).rejects.toThrow(/^The defaults of U_ALICE for aws must /);
      await expect(saving).rejects.toThrow(reason);
      expect(await store.getDefaults('U_ALICE', 'aws')).toEqual({ region: 'eu-west-1' });
    });
  });

  describe('audit log', () => {
    const event = (overrides: Partial<AuditEvent> = {}): AuditEvent => ({
      at: at(0),
      kind: 'requested',
      actorId: 'U_ALICE',
      requestId: 'request-1',
      channelId: 'C_BUILDS',
      detail: {},
      ...overrides,
    });

    it('lists the events from exactly `since` on, oldest first, with their detail', async () => {
      const store = await open();
      const before = event({ at: new Date(at(0).getTime() - 1), kind: 'requested' });
      const exactly = event({ at: at(0), kind: 'submitted', detail: { composeId: 'c-1', targets: ['123456789012'] } });
      const later = event({
        at: at(30),
        kind: 'finished',
        actorId: null,
        channelId: null,
        detail: { status: 'success', nested: { ok: true, n: 1.5 } },
      });
      const refused = event({
        at: at(10),
        kind: 'refused',
        requestId: null,
        detail: { reason: 'too many builds in flight', entryPoint: 'modal' },
      });
      for (const e of [later, before, exactly, refused]) await store.appendAudit(e);

      expect(await store.listAudit(at(0))).toEqual([exactly, refused, later]);
      expect(await store.listAudit(at(31))).toEqual([]);
    });

    it('keeps the order events were appended in when they share a millisecond, also after a restart', async () => {
      const store = await open();
      const kinds = ['finished', 'reminded', 'expired', 'defaults-cleared'] as const;
      for (const kind of kinds) await store.appendAudit(event({ kind }));
      await store.close();

      expect((await (await open()).listAudit(at(0))).map((e) => e.kind)).toEqual(kinds);
    });

    it('refuses an unknown kind or a detail that is not an object, and records nothing', async () => {
      const store = await open();

      await expect(store.appendAudit(event({ kind: 'deleted' as AuditEvent['kind'] }))).rejects.toThrow(/"deleted"/);
      await expect(store.appendAudit(event({ detail: ['a'] as unknown as Record<string, unknown> }))).rejects.toThrow(
        /detail .* must be an object, got an array/,
      );
      await expect(store.appendAudit(event({ at: new Date('not a date') }))).rejects.toThrow(/at must be a valid Date/);
      expect(await store.listAudit(new Date(0))).toEqual([]);
    });
  });

  describeLeases(open);
  describeReplicas(open);
  describeRetention(open);
  describeOrders(open);
}

function describeLeases(open: () => Promise<Store>) {
  const LEASE_MS = 60_000;
  const now = at(0);
  const later = (ms: number) => new Date(now.getTime() + ms);

  /** An unfinished request in the given state, created `minutes` after 10:00. */
  async function unfinished(store: Store, minutes: number, patch: BuildRequestPatch = {}) {
    const { request } = await store.insert(newRequest({ createdAt: at(minutes) }));
    return Object.keys(patch).length === 0 ? request : store.update(request.id, patch);
  }

  describe('leases', () => {
    it('leases due requests up to the limit: brand-new ones first, then the most overdue, then the oldest', async () => {
      const store = await open();
      const minuteAgo = { state: 'tracking', nextPollAt: later(-minute) } as const;
      const older = await unfinished(store, -2);
      const newer = await unfinished(store, -1);
      const sameMillisecond = await unfinished(store, -1);
      const mostOverdue = await unfinished(store, -3, {
        state: 'tracking',
        composeId: 'c-1',
        nextPollAt: later(-2 * minute),
      });
      const dueExactlyNow = await unfinished(store, -10, { state: 'tracking', composeId: 'c-2', nextPollAt: now });
      const overdueNewer = await unfinished(store, -7, { ...minuteAgo, composeId: 'c-3' });
      const overdueOlder = await unfinished(store, -8, { ...minuteAgo, composeId: 'c-4' });
      await unfinished(store, -6, { state: 'tracking', composeId: 'c-5', nextPollAt: later(1) });
      await unfinished(store, -11, { state: 'done', status: 'success' });
      await unfinished(store, -12, { state: 'rejected', rejection: 'quota' });

      const first = await store.claimDue('replica-a', now, LEASE_MS, 4);
      const rest = await store.claimDue('replica-a', now, LEASE_MS, 10, { except: ids(first) });

      expect(ids(first)).toEqual(ids([older, newer, sameMillisecond, mostOverdue]));
      expect(first).toEqual(await Promise.all(ids(first).map((id) => store.get(id))));
      expect(ids(rest)).toEqual(ids([overdueOlder, overdueNewer, dueExactlyNow]));
      expect(await store.claimDue('replica-a', now, LEASE_MS, 10, { except: ids([...first, ...rest]) })).toEqual([]);
    });

    it('leases only submissions when asked to, in the same order, leaving due builds for the other slots', async () => {
      const store = await open();
      const tracked = await unfinished(store, -5, { state: 'tracking', composeId: 'c-1', nextPollAt: later(-minute) });
      const older = await unfinished(store, -2);
      const newer = await unfinished(store, -1);
      await unfinished(store, -9, { state: 'awaiting-approval' });

      const submissions = await store.claimDue('replica-a', now, LEASE_MS, 10, { state: 'submitting' });

      expect(ids(submissions)).toEqual(ids([older, newer]));
      expect(ids(await store.claimDue('replica-a', now, LEASE_MS, 10, { except: ids(submissions) }))).toEqual([
        tracked.id,
      ]);
      await expect(
        store.claimDue('replica-a', now, LEASE_MS, 10, { state: 'done' as unknown as 'tracking' }),
      ).rejects.toThrow('a claim takes only submitting or tracking requests, not done');
    });

    it('gives a replica back a request it holds itself, however long the lease runs, unless it has it in hand', async () => {
      const store = await open();
      // A step ended without releasing this one (the store was down at the time); the other is still in hand.
      const leftHeld = await unfinished(store, 0);
      const inHand = await unfinished(store, 1);
      await store.claimDue('replica-a', now, LEASE_MS, 10);

      expect(await store.claimDue('replica-b', later(1), LEASE_MS, 10)).toEqual([]);
      expect(
        ids(await store.claimDue('replica-a', later(1), LEASE_MS, 10, { except: [inHand.id, 'no-such-id'] })),
      ).toEqual([leftHeld.id]);

      // Taken again, its lease runs from then on; the request in hand kept the lease it had.
      expect(ids(await store.claimDue('replica-b', later(LEASE_MS), LEASE_MS, 10))).toEqual([inHand.id]);
      expect(ids(await store.claimDue('replica-c', later(LEASE_MS + 1), LEASE_MS, 10))).toEqual([leftHeld.id]);
    });

    it('gives no replica a request another holds, until that lease has ended', async () => {
      const store = await open();
      const request = await unfinished(store, 0);
      await store.claimDue('replica-a', now, LEASE_MS, 10);

      expect(await store.claimDue('replica-b', later(LEASE_MS - 1), LEASE_MS, 10)).toEqual([]);
      expect(ids(await store.claimDue('replica-b', later(LEASE_MS), LEASE_MS, 10))).toEqual([request.id]);
      expect(await store.claimDue('replica-a', later(LEASE_MS), LEASE_MS, 10)).toEqual([]);
    });

    it('never gives the same request to two replicas claiming at the same moment', async () => {
      const replicas = [await open(), await open()];
      const requests = [];
      for (let i = 0; i < 24; i += 1) requests.push(await unfinished(replicas[0]!, i));

      const rounds = await Promise.all(
        Array.from({ length: 12 }, (_, i) => replicas[i % 2]!.claimDue(`replica-${i}`, now, LEASE_MS, 3)),
      );
      const leftOver = await replicas[1]!.claimDue('replica-last', now, LEASE_MS, 100);

      const claimed = [...rounds.flat(), ...leftOver].map((r) => r.id);
      expect(claimed).toHaveLength(requests.length);
      expect(new Set(claimed)).toEqual(new Set(ids(requests)));
    });

    it('lets the request be claimed again at once once its owner releases it, but not by anyone else', async () => {
      const store = await open();
      const request = await unfinished(store, 0);
      await store.claimDue('replica-a', now, LEASE_MS, 10);

      await store.releaseClaim(request.id, 'replica-b');
      expect(await store.claimDue('replica-b', now, LEASE_MS, 10)).toEqual([]);

      await store.releaseClaim(request.id, 'replica-a');
      expect(ids(await store.claimDue('replica-b', now, LEASE_MS, 10))).toEqual([request.id]);
    });

    it('renews a lease its owner still holds, also one that ended with nobody taking it, and no other', async () => {
      const store = await open();
      const request = await unfinished(store, 0);
      await store.claimDue('replica-a', now, LEASE_MS, 10);

      expect(await store.renewClaim(request.id, 'replica-b', now, LEASE_MS)).toBe(false);
      expect(await store.renewClaim(request.id, 'replica-a', later(2 * LEASE_MS), LEASE_MS)).toBe(true);
      // Renewed from the later moment: still held just before its new end.
      expect(await store.claimDue('replica-b', later(3 * LEASE_MS - 1), LEASE_MS, 10)).toEqual([]);

      expect(ids(await store.claimDue('replica-b', later(3 * LEASE_MS), LEASE_MS, 10))).toEqual([request.id]);
      expect(await store.renewClaim(request.id, 'replica-a', later(3 * LEASE_MS), LEASE_MS)).toBe(false);
      await store.releaseClaim(request.id, 'replica-b');
      expect(await store.renewClaim(request.id, 'replica-b', later(3 * LEASE_MS), LEASE_MS)).toBe(false);
    });

    it('claims one request whatever its state, unless another replica holds it', async () => {
      const store = await open();
      const done = await finishedBuild(store, later(day));

      expect(await store.claim(done.id, 'replica-a', now, LEASE_MS)).toEqual(done);
      expect(await store.claim(done.id, 'replica-a', now, LEASE_MS)).toEqual(done);
      expect(await store.claim(done.id, 'replica-b', later(LEASE_MS - 1), LEASE_MS)).toBeUndefined();
      expect(await store.claim(done.id, 'replica-b', later(LEASE_MS), LEASE_MS)).toEqual(done);
      expect(await store.claim('no-such-id', 'replica-b', now, LEASE_MS)).toBeUndefined();
    });

    it('writes for the replica holding the lease and refuses another, writing nothing', async () => {
      const store = await open();
      const request = await unfinished(store, 0);
      await store.claimDue('replica-a', now, LEASE_MS, 10);

      await store.update(request.id, { status: 'building' }, { ifLeasedBy: 'replica-a' });
      await expect(store.update(request.id, { status: 'from-b' }, { ifLeasedBy: 'replica-b' })).rejects.toMatchObject({
        name: 'StoreError',
        kind: 'lease-lost',
      });
      expect(await store.get(request.id)).toMatchObject({ status: 'building' });
    });

    it('refuses, writing nothing, the writes of a replica whose request was taken over or released', async () => {
      const store = await open();
      const request = await unfinished(store, 0);
      await store.claimDue('replica-a', now, LEASE_MS, 10);
      await store.claimDue('replica-b', later(LEASE_MS), LEASE_MS, 10);

      const stale = store.update(request.id, { status: 'stale', resultTs: '9.9' }, { ifLeasedBy: 'replica-a' });

      await expect(stale).rejects.toBeInstanceOf(StoreError);
      await expect(stale).rejects.toMatchObject({ kind: 'lease-lost', message: expect.stringContaining(request.id) });
      await expect(store.update(request.id, {}, { ifLeasedBy: 'replica-a' })).rejects.toMatchObject({
        kind: 'lease-lost',
      });
      expect(await store.get(request.id)).toMatchObject({ status: null, resultTs: null });

      await store.releaseClaim(request.id, 'replica-b');
      await expect(store.update(request.id, { status: 'late' }, { ifLeasedBy: 'replica-b' })).rejects.toMatchObject({
        kind: 'lease-lost',
      });
      await expect(store.update('no-such-id', { status: 'x' }, { ifLeasedBy: 'replica-b' })).rejects.toMatchObject({
        kind: 'not-found',
      });
    });

    it('keeps leases out of the requests it returns, and unfenced writes work whoever holds the lease', async () => {
      const store = await open();
      const request = await unfinished(store, 0);
      const [claimed] = await store.claimDue('replica-a', now, LEASE_MS, 1);

      expect(claimed).toEqual(request);
      expect(await store.update(request.id, { status: 'pending' })).toEqual({ ...request, status: 'pending' });
    });

    it('refuses a claim without an owner, with a lease of no length, or with a negative limit', async () => {
      const store = await open();

      await expect(store.claimDue('', now, LEASE_MS, 1)).rejects.toThrow(TypeError);
      await expect(store.claimDue('replica-a', now, 0, 1)).rejects.toThrow(RangeError);
      await expect(store.claimDue('replica-a', now, LEASE_MS, -1)).rejects.toThrow(RangeError);
      await expect(store.claimDue('replica-a', new Date('not a date'), LEASE_MS, 1)).rejects.toThrow(/now/);
      await expect(
        store.claimDue('replica-a', now, LEASE_MS, 1, { except: 'an-id' as unknown as string[] }),
      ).rejects.toThrow(TypeError);
      expect(await store.claimDue('replica-a', now, LEASE_MS, 0)).toEqual([]);
    });

    it("lists the owners of leases, ended or not, and ends every lease of one owner, whatever the request's state", async () => {
      const store = await open();
      const [first, second, third] = [
        await unfinished(store, 0),
        await unfinished(store, 1),
        await unfinished(store, 2),
      ];
      const notDue = await unfinished(store, 3, { state: 'tracking', composeId: 'c-1', nextPollAt: later(minute) });
      const done = await finishedBuild(store, later(day));
      expect(await store.listLeaseOwners()).toEqual([]);
      await store.claimDue('replica-b', now, LEASE_MS, 2);
      await store.claimDue('replica-a', now, LEASE_MS, 1);
      await store.claim(done.id, 'replica-b', now, LEASE_MS);
      await store.claim(notDue.id, 'replica-c', now, LEASE_MS);

      expect(await store.listLeaseOwners()).toEqual(['replica-a', 'replica-b', 'replica-c']);
      expect(await store.releaseAllClaims('replica-b')).toBe(3);

      expect(await store.listLeaseOwners()).toEqual(['replica-a', 'replica-c']);
      // Free for anyone at once, and the old owner's writes are refused.
      expect(ids(await store.claimDue('replica-d', now, LEASE_MS, 10))).toEqual(ids([first, second]));
      expect(await store.claim(done.id, 'replica-d', now, LEASE_MS)).toEqual(done);
      await expect(store.update(first.id, { status: 'late' }, { ifLeasedBy: 'replica-b' })).rejects.toMatchObject({
        kind: 'lease-lost',
      });
      // An ended lease nobody took is still listed; the other owners kept theirs.
      expect(await store.listLeaseOwners()).toEqual(['replica-a', 'replica-c', 'replica-d']);
      expect(await store.claimDue('replica-d', later(1), LEASE_MS, 10, { except: ids([first, second]) })).toEqual([]);
      expect(ids(await store.claimDue('replica-a', later(1), LEASE_MS, 10))).toEqual([third.id]);
      expect(await store.releaseAllClaims('replica-b')).toBe(0);
      expect(await store.releaseAllClaims('nobody')).toBe(0);
      await expect(store.releaseAllClaims('')).rejects.toThrow(TypeError);
    });
  });
}

function describeReplicas(open: () => Promise<Store>) {
  const STALE_MS = 30_000;
  const second = 1000;
  const t = (ms: number) => new Date(at(0).getTime() + ms);

  describe('replicas', () => {
    it('counts the replicas alive, itself included, and forgets one not seen for longer than the staleness', async () => {
      const [a, b] = [await open(), await open()];

      expect(await a.heartbeat('replica-a', t(0), STALE_MS)).toBe(1);
      expect(await b.heartbeat('replica-b', t(10 * second), STALE_MS)).toBe(2);
      expect(await a.heartbeat('replica-a', t(20 * second), STALE_MS)).toBe(2);
      // B was last seen exactly the staleness ago: still alive; a moment later it is not.
      expect(await a.heartbeat('replica-a', t(40 * second), STALE_MS)).toBe(2);
      expect(await a.heartbeat('replica-a', t(40 * second + 1), STALE_MS)).toBe(1);
      // B was only slow: it counts again from its next heartbeat.
      expect(await b.heartbeat('replica-b', t(41 * second), STALE_MS)).toBe(2);
    });

    it('leaves the count at once when a replica retires, and takes it back should it beat again', async () => {
      const store = await open();
      await store.heartbeat('replica-a', t(0), STALE_MS);
      await store.heartbeat('replica-b', t(0), STALE_MS);

      await store.retire('replica-b');
      await store.retire('replica-b');
      await store.retire('never-seen');

      expect(await store.heartbeat('replica-a', t(second), STALE_MS)).toBe(1);
      expect(await store.heartbeat('replica-b', t(2 * second), STALE_MS)).toBe(2);
    });

    it('lists the replicas it counts, without those that retired', async () => {
      const store = await open();
      expect(await store.listReplicas()).toEqual([]);
      await store.heartbeat('replica-a', t(0), STALE_MS);
      await store.heartbeat('replica-b', t(0), STALE_MS);
      await store.heartbeat('replica-c', t(0), STALE_MS);
      await store.retire('replica-b');
      expect((await store.listReplicas()).sort()).toEqual(['replica-a', 'replica-c']);
    });

    it('keeps the count across a restart of the store', async () => {
      const first = await open();
      await first.heartbeat('replica-a', t(0), STALE_MS);
      await first.close();

      expect(await (await open()).heartbeat('replica-b', t(second), STALE_MS)).toBe(2);
    });

    it('counts every replica once when they all beat at the same moment', async () => {
      const stores = [await open(), await open()];
      const names = Array.from({ length: 8 }, (_, i) => `replica-${i}`);
      await Promise.all(names.map((name, i) => stores[i % 2]!.heartbeat(name, t(0), STALE_MS)));
      // Half of them stale by now, forgotten by several replicas at once.
      const survivors = names.slice(0, 4);

      const counts = await Promise.all(
        survivors.map((name, i) => stores[i % 2]!.heartbeat(name, t(STALE_MS + 1), STALE_MS)),
      );

      expect(counts.every((count) => count >= 1 && count <= survivors.length)).toBe(true);
      expect(await stores[0]!.heartbeat(survivors[0]!, t(STALE_MS + 2), STALE_MS)).toBe(survivors.length);
    });

    it('refuses a heartbeat without an owner, at an invalid time, or with a staleness of no length', async () => {
      const store = await open();

      await expect(store.heartbeat('', t(0), STALE_MS)).rejects.toThrow(TypeError);
      await expect(store.heartbeat('replica-a', new Date('not a date'), STALE_MS)).rejects.toThrow(/now/);
      await expect(store.heartbeat('replica-a', t(0), 0)).rejects.toThrow(RangeError);
      await expect(store.heartbeat('replica-a', t(0), Number.NaN)).rejects.toThrow(RangeError);
      await expect(store.retire('')).rejects.toThrow(TypeError);
      expect(await store.heartbeat('replica-b', t(0), STALE_MS)).toBe(1);
    });
  });
}

function describeRetention(open: () => Promise<Store>) {
  const cutoff = at(0);
  const before = at(-1);
  const after = at(1);
  const auditEvent = (when: Date, kind: AuditEvent['kind'] = 'requested'): AuditEvent => ({
    at: when,
    kind,
    actorId: 'U_ALICE',
    requestId: null,
    channelId: 'C_BUILDS',
    detail: { reason: 'r' },
  });

  describe('retention', () => {
    it('deletes the builds that finished and the audit events recorded before the cutoff, and says how many', async () => {
      const store = await open();
      const succeeded = await finishedBuild(store, at(-2), { finishedAt: at((-3 * day) / minute) });
      const failed = await finishedBuild(store, null, { status: 'failure', finishedAt: before });
      const refused = await store
        .insert(newRequest())
        .then(({ request }) => store.update(request.id, { state: 'rejected', rejection: 'Quota', finishedAt: before }));
      const finishedSince = await finishedBuild(store, null, { status: 'failure', finishedAt: cutoff });
      for (const when of [at(-10), before, cutoff, after]) await store.appendAudit(auditEvent(when));

      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 3, auditEvents: 2 });

      for (const gone of [succeeded, failed, refused]) expect(await store.get(gone.id)).toBeUndefined();
      expect(await store.get(finishedSince.id)).toEqual(finishedSince);
      expect((await store.listAudit(new Date(0))).map((e) => e.at)).toEqual([cutoff, after]);
    });

    it('keeps a finished build whose image has not expired by the cutoff, for its reminder and expiry notice', async () => {
      const store = await open();
      const available = await finishedBuild(store, after, { finishedAt: at((-14 * day) / minute) });

      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 0, auditEvents: 0 });
      expect(await store.get(available.id)).toEqual(available);
      expect(await store.listNeedingReminder(cutoff, 2 * minute)).toEqual([available]);
    });

    it('never deletes an unfinished build, however old', async () => {
      const store = await open();
      const submitting = (await store.insert(newRequest({ createdAt: at((-1000 * day) / minute) }))).request;
      const tracking = await store
        .insert(newRequest({ createdAt: at((-1000 * day) / minute) }))
        .then(({ request }) => store.update(request.id, { state: 'tracking', composeId: 'c-1', finishedAt: before }));

      expect(await store.purgeBefore(after)).toEqual({ builds: 0, auditEvents: 0 });
      expect(ids(await store.listUnfinished())).toEqual([submitting.id, tracking.id]);
    });

    it('finds nothing more to delete the second time, also after a restart', async () => {
      const store = await open();
      await finishedBuild(store, null, { finishedAt: before });
      await store.appendAudit(auditEvent(before, 'finished'));
      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 1, auditEvents: 1 });
      await store.close();

      expect(await (await open()).purgeBefore(cutoff)).toEqual({ builds: 0, auditEvents: 0 });
    });

    it('refuses an invalid cutoff and deletes nothing', async () => {
      const store = await open();
      const build = await finishedBuild(store, null, { finishedAt: before });

      await expect(store.purgeBefore(new Date('not a date'))).rejects.toThrow(/before must be a valid Date/);
      expect(await store.get(build.id)).toEqual(build);
    });
  });
}

function describeOrders(open: () => Promise<Store>) {
  const LEASE_MS = 60_000;
  const golden: BlueprintRef = {
    id: '9a0b1c2d-0000-4000-8000-00000000b001',
    name: 'rhel9-golden',
    version: 5,
    targets: 'blueprint',
  };

  /** The lead of a blueprint order, submitting, its thread already posted in a public channel. */
  async function placeOrder(store: Store, overrides: Partial<NewBuildRequest> = {}) {
    const request = newRequest({ blueprint: golden, ...overrides });
    const { request: lead } = await store.insert({ ...request, orderId: request.id, orderIndex: 0 });
    return store.update(lead.id, { threadChannelId: 'C012BUILDS', threadChannelKind: 'public', parentTs: '1.1' });
  }

  const companion = (orderIndex: number, overrides: Partial<OrderCompanion> = {}): OrderCompanion => ({
    id: `companion-${orderIndex}-${Math.random().toString(16).slice(2)}`,
    orderIndex,
    architecture: 'aarch64',
    imageName: `web-base-${orderIndex}`,
    shareSummary: 'AWS accounts 123456789012',
    composeRequest: JSON.stringify({ image_types: ['aws'], index: orderIndex }),
    state: 'tracking',
    composeId: `compose-${orderIndex}`,
    submittedAt: at(1),
    ...overrides,
  });

  describe('orders', () => {
    it('reads back the order and blueprint of a build, also after a restart, and a plain build has neither', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      const { request: plain } = await store.insert(newRequest());

      expect(lead).toMatchObject({ orderId: lead.id, orderIndex: 0, blueprint: golden });
      expect(plain).toMatchObject({ orderId: null, orderIndex: null, blueprint: null });
      await store.close();
      const again = await open();
      expect(await again.get(lead.id)).toEqual(lead);
      expect(await again.get(plain.id)).toEqual(plain);
    });

    it('never changes the order or the blueprint of a build, whatever slips past the types', async () => {
      const store = await open();
      const lead = await placeOrder(store);

      for (const patch of [{ orderId: 'other' }, { orderIndex: 3 }, { blueprint: null }]) {
        await expect(store.update(lead.id, patch as BuildRequestPatch)).rejects.toThrow(
          new RegExp(`The ${Object.keys(patch)[0]} of a build request never changes`),
        );
      }
      expect(await store.get(lead.id)).toEqual(lead);
    });

    it('refuses a blueprint given in part, or a place in an order that does not fit, writing nothing', async () => {
      const store = await open();
      const id = 'b0rked00-0000-4000-8000-000000000000';
      const refused: [Partial<NewBuildRequest>, RegExp][] = [
        [{ blueprint: { ...golden, name: '' } }, /blueprint needs its id and its name/],
        [{ blueprint: { ...golden, version: 1.5 } }, /version of blueprint rhel9-golden/],
        [{ blueprint: { ...golden, targets: 'everyone' as BlueprintRef['targets'] } }, /"blueprint" or "requester"/],
        [{ orderId: id }, /both an orderId and an orderIndex, or neither/],
        [{ orderId: id, orderIndex: 1 }, /place 0 of its order exactly when it leads it/],
        [{ orderId: 'someone-else', orderIndex: 1 }, /joins an order through addToOrder/],
      ];

      for (const [overrides, message] of refused) {
        await expect(store.insert(newRequest({ id, ...overrides }))).rejects.toThrow(message);
      }
      expect(await store.get(id)).toBeUndefined();
    });

    it('adds the other images of an order with what they share from the lead, and writes the lead with them', async () => {
      const store = await open();
      // The launch settings are the whole order's, like its requester and channel.
      const lead = await placeOrder(store, {
        responseUrl: 'https://hooks.slack.com/actions/T0/1/order',
        launchSettings: JSON.stringify({ copy_to_regions: ['eu-west-1'] }),
      });
      const second = companion(1);

      const order = await store.addToOrder(lead.id, { state: 'tracking', composeId: 'compose-0', submittedAt: at(1) }, [
        second,
      ]);

      const [writtenLead, added] = order;
      expect(order).toEqual(await store.listOrder(lead.id));
      expect(writtenLead).toEqual({ ...lead, state: 'tracking', composeId: 'compose-0', submittedAt: at(1) });
      expect(added).toEqual({
        ...lead,
        id: second.id,
        idempotencyKey: null,
        orderId: lead.id,
        orderIndex: 1,
        architecture: 'aarch64',
        imageName: 'web-base-1',
        shareSummary: second.shareSummary,
        composeRequest: second.composeRequest,
        state: 'tracking',
        composeId: 'compose-1',
        submittedAt: at(1),
        // Its own messages (its result) are still to be posted.
        parentTs: null,
      });
      // Each image is a build of its own to poll and to find.
      expect(await store.findByComposeId('compose-1')).toEqual(added);
      expect(ids(await store.listUnfinished())).toEqual([lead.id, second.id]);
      expect(ids(await store.claimDue('replica-a', at(2), LEASE_MS, 10)).sort()).toEqual([lead.id, second.id].sort());
    });

    it('adds images still to submit as submitting, with no compose yet', async () => {
      const store = await open();
      const lead = await placeOrder(store);

      const [, added] = await store.addToOrder(lead.id, {}, [
        { ...companion(1), state: undefined, composeId: undefined, submittedAt: undefined },
      ]);

      expect(added).toMatchObject({ state: 'submitting', composeId: null, submittedAt: null, blueprint: golden });
    });

    it('lists an order lead first, then by place, a plain build as itself, and nothing for an unknown id', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      const [third, second] = [companion(2), companion(1)];
      await store.addToOrder(lead.id, {}, [third, second]);
      const { request: plain } = await store.insert(newRequest());

      expect(ids(await store.listOrder(lead.id))).toEqual([lead.id, second.id, third.id]);
      expect(await store.listOrder(plain.id)).toEqual([plain]);
      expect(await store.listOrder('no-such-order')).toEqual([]);
    });

    it('adds nothing twice when the step that adds the images is retried', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      const images = [companion(1), companion(2)];
      await store.addToOrder(lead.id, { state: 'tracking', composeId: 'compose-0' }, images);
      await store.update(images[0]!.id, { status: 'building' });

      const again = await store.addToOrder(lead.id, { status: 'pending' }, [
        { ...images[0]!, composeId: 'another' },
        images[1]!,
      ]);

      expect(ids(again)).toEqual([lead.id, ...ids(images)]);
      expect(again.map((r) => [r.composeId, r.status])).toEqual([
        ['compose-0', 'pending'],
        ['compose-1', 'building'],
        ['compose-2', null],
      ]);
      expect(await store.countForRequester(lead.requesterId, at(-1))).toEqual({ inFlight: 1, since: 1 });
    });

    it('writes neither the lead nor any image for a replica that lost the lead, and names a lead that is not there', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      await store.claimDue('replica-a', at(0), LEASE_MS, 10);
      await store.claimDue('replica-b', at(2), LEASE_MS, 10);

      const stale = store.addToOrder(lead.id, { state: 'tracking', composeId: 'compose-0' }, [companion(1)], {
        ifLeasedBy: 'replica-a',
      });

      await expect(stale).rejects.toMatchObject({ name: 'StoreError', kind: 'lease-lost' });
      expect(await store.listOrder(lead.id)).toEqual([lead]);
      const holder = await store.addToOrder(lead.id, { composeId: 'compose-0' }, [companion(1)], {
        ifLeasedBy: 'replica-b',
      });
      expect(holder).toHaveLength(2);
      await expect(store.addToOrder('no-such-lead', {}, [companion(1)])).rejects.toMatchObject({
        kind: 'not-found',
        message: expect.stringContaining('no-such-lead'),
      });
    });

    it('refuses, writing nothing, images for a build that leads no order or an image taking the lead’s place', async () => {
      const store = await open();
      const { request: plain } = await store.insert(newRequest());
      const lead = await placeOrder(store);
      const image = companion(1);

      await expect(store.addToOrder(plain.id, { status: 'building' }, [image])).rejects.toThrow(
        /does not lead an order/,
      );
      await expect(store.addToOrder(lead.id, { status: 'building' }, [image, companion(0)])).rejects.toThrow(
        /place 0 of its order/,
      );
      await expect(
        store.addToOrder(lead.id, {}, [{ ...image, state: 'done' as OrderCompanion['state'] }]),
      ).rejects.toThrow(/starts submitting or tracking/);
      expect(await store.get(plain.id)).toEqual(plain);
      expect(await store.listOrder(lead.id)).toEqual([lead]);
      expect(await store.get(image.id)).toBeUndefined();
    });

    it('counts an order of several images as one request, in flight while any of its images is', async () => {
      const store = await open();
      const lead = await placeOrder(store, { createdAt: at(0) });
      const images = [companion(1), companion(2)];
      await store.addToOrder(lead.id, { state: 'tracking', composeId: 'compose-0' }, images);
      await store.insert(newRequest({ createdAt: at(1) }));
      const seen: unknown[] = [];

      expect(await store.countForRequester(lead.requesterId, at(0))).toEqual({ inFlight: 2, since: 2 });
      await store.update(lead.id, { state: 'done', status: 'success' });
      await store.update(images[0]!.id, { state: 'done', status: 'failure' });
      expect(await store.countForRequester(lead.requesterId, at(0))).toEqual({ inFlight: 2, since: 2 });
      await store.update(images[1]!.id, { state: 'done', status: 'success' });
      expect(await store.countForRequester(lead.requesterId, at(0))).toEqual({ inFlight: 1, since: 2 });
      await store.insertWithinLimits(newRequest({ createdAt: at(2) }), {
        since: at(0),
        refusal: (counts) => void seen.push(counts),
      });
      expect(seen).toEqual([{ inFlight: 1, since: 2 }]);
    });

    it('lists every image of an order as a build of its own, newest first, in App Home and /image-builder list', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      const image = companion(1);
      await store.addToOrder(lead.id, {}, [image]);

      // The images share the lead's creation time: the later inserted comes first.
      expect(ids(await store.listNewest({ limit: 10 }))).toEqual([image.id, lead.id]);
      expect(ids(await store.listNewest({ visibleTo: 'U_SOMEONE', limit: 10 }))).toEqual([image.id, lead.id]);
      expect(ids(await store.listRecent({ requesterId: lead.requesterId, channelId: 'C_NONE', limit: 10 }))).toEqual([
        image.id,
        lead.id,
      ]);
    });
  });

  describe('retention of orders', () => {
    const cutoff = at(0);
    const before = at(-1);
    const finished = { state: 'done', status: 'failure', finishedAt: before } as const;

    it('forgets an order only once every image of it may be forgotten, and then all of it', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      const images = [companion(1), companion(2)];
      await store.addToOrder(lead.id, finished, images);
      await store.update(images[0]!.id, finished);

      // The second image is still being built: the whole order stays, its lead's thread with it.
      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 0, auditEvents: 0 });
      expect(ids(await store.listOrder(lead.id))).toEqual([lead.id, ...ids(images)]);

      // Finished, but its image is still available: the order stays for its reminder and expiry notice.
      await store.update(images[1]!.id, { ...finished, status: 'success', expiresAt: at(5) });
      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 0, auditEvents: 0 });

      await store.update(images[1]!.id, { expiresAt: before });
      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 3, auditEvents: 0 });
      expect(await store.listOrder(lead.id)).toEqual([]);
    });

    it('forgets plain builds as before, beside an order that stays', async () => {
      const store = await open();
      const lead = await placeOrder(store);
      await store.addToOrder(lead.id, finished, [companion(1)]);
      const plain = await finishedBuild(store, null, { status: 'failure', finishedAt: before });

      expect(await store.purgeBefore(cutoff)).toEqual({ builds: 1, auditEvents: 0 });
      expect(await store.get(plain.id)).toBeUndefined();
      expect(await store.listOrder(lead.id)).toHaveLength(2);
    });
  });
}
