import { aws } from '../../src/providers/aws';
import { commonFields, validateCommon } from '../../src/providers/common';
import { newestFirst, preferredDistribution, type ArchitecturesOf } from '../../src/providers/distributions';
import { describeWithRealDistributions, realDistributionAnswers } from '../support/realDistributions';

const names = (list: readonly { name: string }[]) => list.map((d) => d.name);
const choices = (...list: string[]) => list.map((name) => ({ name }));

describeWithRealDistributions('distributions as the real GET /distributions lists them', () => {
  it('come newest first: RHEL 10, 9 and 8 with their minors newest first, old names after modern ones, then CentOS', () => {
    expect(names(newestFirst(realDistributionAnswers().distributions))).toEqual([
      'rhel-10',
      'rhel-10.2',
      'rhel-10.1',
      'rhel-10.0',
      'rhel-10-beta',
      'rhel-9',
      'rhel-9.8',
      'rhel-9.7',
      'rhel-9.6',
      'rhel-95',
      'rhel-94',
      'rhel-93',
      'rhel-92',
      'rhel-91',
      'rhel-90',
      'rhel-9-beta',
      'rhel-8',
      'rhel-8.10',
      'rhel-89',
      'rhel-88',
      'rhel-87',
      'rhel-86',
      'rhel-85',
      'rhel-84',
      'centos-10',
      'centos-9',
      'hummingbird',
    ]);
  });

  it('default to the newest generally available RHEL', () => {
    expect(preferredDistribution(realDistributionAnswers().distributions)).toBe('rhel-10');
  });

  it('put nightlies after the releases of their major, for an organisation that may build them', () => {
    // GET /architectures knows every distribution, the restricted ones (nightlies, Fedora) included.
    const all = choices(...Object.keys(realDistributionAnswers().architectures));
    const ordered = names(newestFirst(all));

    expect(ordered.slice(0, 4)).toEqual(['rhel-10', 'rhel-10.2', 'rhel-10.1', 'rhel-10.0']);
    expect(ordered.indexOf('rhel-10.3-nightly')).toBeGreaterThan(ordered.indexOf('rhel-10.0'));
    expect(ordered.indexOf('rhel-10.3-nightly')).toBeLessThan(ordered.indexOf('rhel-9'));
    expect(ordered.indexOf('fedora-45')).toBe(ordered.indexOf('centos-9') + 1);
    expect(preferredDistribution(all)).toBe('rhel-10');
  });
});

describe('the preferred distribution', () => {
  it('is never a beta or a nightly while a release is offered', () => {
    expect(preferredDistribution(choices('rhel-10-beta', 'rhel-10-nightly', 'rhel-9.6'))).toBe('rhel-9.6');
    expect(preferredDistribution(choices('rhel-10-beta', 'centos-10'))).toBe('centos-10');
  });

  it('is the first offered when nothing else will do, and none when nothing is offered', () => {
    expect(preferredDistribution(choices('rhel-11-beta'))).toBe('rhel-11-beta');
    expect(preferredDistribution([])).toBeUndefined();
  });

  it('reads rhel-10 as RHEL 10, not as an old name of 1.0', () => {
    expect(names(newestFirst(choices('rhel-84', 'rhel-9', 'rhel-10', 'rhel-8.10')))).toEqual([
      'rhel-10',
      'rhel-9',
      'rhel-8.10',
      'rhel-84',
    ]);
  });

  it('puts families it does not rank after RHEL, CentOS and Fedora, whatever they are called', () => {
    expect(names(newestFirst(choices('constructor-9', 'fedora-42', '__proto__', 'rhel-9.6', 'centos-10')))).toEqual([
      'rhel-9.6',
      'centos-10',
      'fedora-42',
      '__proto__',
      'constructor-9',
    ]);
  });
});

describeWithRealDistributions('what a form offers, as the real GET /architectures says', () => {
  const real = () => realDistributionAnswers();
  const architecturesOf: ArchitecturesOf = (distribution) =>
    real().architectures[distribution]?.map(({ arch, image_types }) => ({ arch, image_types: image_types ?? [] }));
  const offered = (of?: ArchitecturesOf) =>
    commonFields(aws, { distributions: real().distributions, architecturesOf: of })[0]!.options!.map((o) => o.value);

  it('leaves out hummingbird, which has only image-mode images, once the service has said so', () => {
    expect(offered(architecturesOf)).not.toContain('hummingbird');
    expect(offered(architecturesOf)).toHaveLength(real().distributions.length - 1);
  });

  it('offers the whole list while the architectures are not known', () => {
    expect(offered(() => undefined)).toContain('hummingbird');
    expect(offered()).toHaveLength(real().distributions.length);
  });

  it('refuses hummingbird for an AWS image, naming what can be built', () => {
    const names = real().distributions.map((d) => d.name);
    expect(validateCommon(aws, { distribution: 'hummingbird' }, { distributions: names, architecturesOf })).toEqual({
      ok: false,
      errors: {
        distribution: expect.stringMatching(
          /^Image Builder cannot build Amazon Web Services images of hummingbird\. Choose one of /,
        ),
      },
    });
    expect(validateCommon(aws, { distribution: 'rhel-84' }, { distributions: names, architecturesOf })).toMatchObject({
      ok: true,
    });
  });
});

describe('a form whose distributions build none of its image', () => {
  it('says so rather than listing nothing to choose', () => {
    const architecturesOf: ArchitecturesOf = () => [{ arch: 'x86_64', image_types: [] }];
    expect(
      validateCommon(aws, { distribution: 'hummingbird' }, { distributions: ['hummingbird'], architecturesOf }),
    ).toEqual({
      ok: false,
      errors: {
        distribution:
          'None of the distributions Image Builder offers this account builds Amazon Web Services images right now.',
      },
    });
  });
});
