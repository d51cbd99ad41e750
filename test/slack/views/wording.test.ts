import type { types } from '@slack/bolt';
import { providers, validateCommon, type Provider } from '../../../src/providers';
import { toBuildView } from '../../../src/slack/thread/projection';
import { composeModal } from '../../../src/slack/views/composeModal';
import { homeView } from '../../../src/slack/views/homeTab';
import { parentMessage, statusMessage } from '../../../src/slack/views/threadMessages';
import { buildRow, NOW } from './fixtures';

/*
 * Every sentence that names a target's images, for every target: each must read as English, whatever the target
 * ("an Amazon Web Services image", never "a Amazon Web Services image" or "Guest image (qcow2 download) image").
 */

interface Sentences {
  modal: string;
  homeButton: string;
  noDistribution: string;
  notForDistribution: string;
  noArchitecture: string;
  badArchitecture: string;
  parent: string;
}

function sentencesOf(provider: Provider): Sentences {
  const modal = composeModal({
    provider,
    distributions: [{ name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' }],
    context: { provider: provider.id, channelId: 'C012BUILDS' },
  });
  const home = homeView({
    providers: [provider],
    mine: { builds: [] },
    team: { builds: [] },
    hasDefaults: false,
    now: NOW,
  });
  const buttons = (home.blocks.find((b) => b.block_id === 'new_image') as types.ActionsBlock).elements;
  const error = (field: string, raw: Record<string, string>, context: Parameters<typeof validateCommon>[2]) => {
    const result = validateCommon(provider, raw, context);
    if (result.ok || !result.errors[field]) throw new Error(`expected the ${field} to be refused`);
    return result.errors[field];
  };
  const chosen = { distribution: 'rhel-9' };
  const offered = { distributions: ['rhel-9', 'rhel-10'] };
  return {
    modal: (modal.blocks[0] as types.SectionBlock).text!.text.split('.')[0]!,
    homeButton: (buttons[0] as types.Button).text.text,
    noDistribution: error('distribution', chosen, { ...offered, architecturesOf: () => [] }),
    notForDistribution: error('distribution', chosen, {
      ...offered,
      architecturesOf: (d) => (d === 'rhel-9' ? [] : [{ arch: 'x86_64', image_types: [provider.imageType] }]),
    }).split('.')[0]!,
    noArchitecture: error('architecture', chosen, { ...offered, architectures: [] }),
    badArchitecture: error('architecture', { ...chosen, architecture: 's390x' }, offered).split(';')[0]!,
    parent: parentMessage(toBuildView(buildRow({ provider: provider.id }))).text,
  };
}

const expected: Record<string, Sentences> = {
  aws: {
    modal: 'Build an *Amazon Web Services image* with Red Hat Image Builder',
    homeButton: 'New Amazon Web Services image',
    noDistribution:
      'None of the distributions Image Builder offers this account builds Amazon Web Services images right now.',
    notForDistribution: 'Image Builder cannot build Amazon Web Services images of rhel-9',
    noArchitecture: 'Image Builder cannot build Amazon Web Services images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture Amazon Web Services images can be built for',
    parent: 'rhel-9 x86_64 image on Amazon Web Services: in progress',
  },
  azure: {
    modal: 'Build a *Microsoft Azure image* with Red Hat Image Builder',
    homeButton: 'New Microsoft Azure image',
    noDistribution:
      'None of the distributions Image Builder offers this account builds Microsoft Azure images right now.',
    notForDistribution: 'Image Builder cannot build Microsoft Azure images of rhel-9',
    noArchitecture: 'Image Builder cannot build Microsoft Azure images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture Microsoft Azure images can be built for',
    parent: 'rhel-9 x86_64 image on Microsoft Azure: in progress',
  },
  gcp: {
    modal: 'Build a *Google Cloud image* with Red Hat Image Builder',
    homeButton: 'New Google Cloud image',
    noDistribution: 'None of the distributions Image Builder offers this account builds Google Cloud images right now.',
    notForDistribution: 'Image Builder cannot build Google Cloud images of rhel-9',
    noArchitecture: 'Image Builder cannot build Google Cloud images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture Google Cloud images can be built for',
    parent: 'rhel-9 x86_64 image on Google Cloud: in progress',
  },
  'guest-image': {
    modal: 'Build a *qcow2 guest image* with Red Hat Image Builder',
    homeButton: 'New qcow2 guest image',
    noDistribution: 'None of the distributions Image Builder offers this account builds qcow2 guest images right now.',
    notForDistribution: 'Image Builder cannot build qcow2 guest images of rhel-9',
    noArchitecture: 'Image Builder cannot build qcow2 guest images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture qcow2 guest images can be built for',
    parent: 'rhel-9 x86_64 image to download as qcow2: in progress',
  },
  vsphere: {
    modal: 'Build a *VMware vSphere image* with Red Hat Image Builder',
    homeButton: 'New VMware vSphere image',
    noDistribution:
      'None of the distributions Image Builder offers this account builds VMware vSphere images right now.',
    notForDistribution: 'Image Builder cannot build VMware vSphere images of rhel-9',
    noArchitecture: 'Image Builder cannot build VMware vSphere images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture VMware vSphere images can be built for',
    parent: 'rhel-9 x86_64 image to download for VMware vSphere: in progress',
  },
  iso: {
    modal: 'Build an *installer ISO* with Red Hat Image Builder',
    homeButton: 'New installer ISO',
    noDistribution: 'None of the distributions Image Builder offers this account builds installer ISOs right now.',
    notForDistribution: 'Image Builder cannot build installer ISOs of rhel-9',
    noArchitecture: 'Image Builder cannot build installer ISOs for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture installer ISOs can be built for',
    parent: 'rhel-9 x86_64 image to download as an installer ISO: in progress',
  },
  wsl: {
    modal: 'Build a *WSL image* with Red Hat Image Builder',
    homeButton: 'New WSL image',
    noDistribution: 'None of the distributions Image Builder offers this account builds WSL images right now.',
    notForDistribution: 'Image Builder cannot build WSL images of rhel-9',
    noArchitecture: 'Image Builder cannot build WSL images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture WSL images can be built for',
    parent: 'rhel-9 x86_64 image to download for WSL: in progress',
  },
  oci: {
    modal: 'Build an *Oracle Cloud image* with Red Hat Image Builder',
    homeButton: 'New Oracle Cloud image',
    noDistribution: 'None of the distributions Image Builder offers this account builds Oracle Cloud images right now.',
    notForDistribution: 'Image Builder cannot build Oracle Cloud images of rhel-9',
    noArchitecture: 'Image Builder cannot build Oracle Cloud images for any architecture offered here.',
    badArchitecture: '“s390x” is not an architecture Oracle Cloud images can be built for',
    parent: 'rhel-9 x86_64 image to import into Oracle Cloud: in progress',
  },
};

it('has the sentences of every target written down here', () => {
  expect(providers.map((p) => p.id).sort()).toEqual(Object.keys(expected).sort());
});

describe.each(providers.map((p) => [p.id, p] as const))('%s', (id, provider) => {
  it('names its images in every sentence as written', () => {
    expect(sentencesOf(provider)).toEqual(expected[id]);
  });

  it('never pairs "a" with a vowel or repeats "image"', () => {
    const texts = [
      ...Object.values(sentencesOf(provider)),
      statusMessage(toBuildView(buildRow({ provider: id }))).text,
    ];
    for (const text of texts) {
      expect(text).not.toMatch(/\ba \*?[aeiou]/i);
      expect(text).not.toMatch(/\ban \*?[^aeiou\s*]/i);
      // "image image", or a label's parenthesis followed by the noun: "Guest image (qcow2 download)* image".
      expect(text).not.toMatch(/\bimages?\W+images?\b|\)\*? images?\b/i);
    }
  });
});
