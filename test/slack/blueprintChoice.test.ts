import { blueprintItemSchema } from '../../src/imageBuilder/blueprintSchemas';
import type { BlueprintList } from '../../src/imageBuilder/blueprintCatalog';
import { blueprintOffer, type BlueprintChoiceDeps } from '../../src/slack/blueprintChoice';
import { blueprintItem } from '../imageBuilder/blueprintBodies';

const HOUR = 3600_000;
const golden = blueprintItemSchema.parse(blueprintItem());
const other = blueprintItemSchema.parse(
  blueprintItem({ id: '4a5b8c1e-0d4f-4b1a-9e3c-2f7a6b5c4d3e', name: 'web-base' }),
);

function depsWith(list: BlueprintList, allowed: (name: string) => boolean = () => true): BlueprintChoiceDeps {
  return {
    blueprints: { list: () => list, search: () => [], find: () => undefined, closestNames: () => [] },
    gate: {
      buildableBlueprints: (_channel, blueprints) => blueprints.filter((b) => allowed(b.name)),
      mayBuildBlueprint: () => Promise.resolve({ allowed: true }),
      mayRequest: () => Promise.resolve({ allowed: true }),
      wouldAllow: () => Promise.resolve({ allowed: true }),
    },
    imageBuilder: { getBlueprint: () => Promise.reject(new Error('not read here')) },
  };
}

describe('what "Start from" offers', () => {
  it('offers a plain image only, saying why, before Image Builder has ever answered', () => {
    const offer = blueprintOffer(
      depsWith({ blueprints: [], stale: true, problem: 'Image Builder is unavailable' }),
      'C1',
    );
    expect(offer.blueprints).toEqual([]);
    expect(offer.note).toContain('not available right now');
  });

  it('offers the last list it has when the service could not be asked again, saying how old it is', () => {
    const list = { blueprints: [golden], refreshedAt: new Date(), ageMs: 3 * HOUR, stale: true, problem: 'timed out' };
    const offer = blueprintOffer(depsWith(list), 'C1');
    expect(offer.blueprints).toEqual([golden]);
    expect(offer.note).toBe('The list of blueprints is 3 hours old: Image Builder could not be asked again.');
  });

  it('offers only what the policy lets the channel build, and says nothing of a fresh list', () => {
    const list = { blueprints: [golden, other], refreshedAt: new Date(), ageMs: 60_000, stale: false };
    const offer = blueprintOffer(
      depsWith(list, (name) => name === 'web-base'),
      'C1',
    );
    expect(offer.blueprints.map((b) => b.name)).toEqual(['web-base']);
    expect(offer.note).toBeUndefined();
    expect(offer.searchable).toBe(false);
  });
});
