import { composeDistribution } from '../src/compose/outcome';
import { storedComposeRequestSchema } from '../src/imageBuilder';

describe('what a compose was built from, as the service returns its request', () => {
  it.each([
    [{ distribution: 'rhel-9' }, 'rhel-9'],
    [{ distribution: 'rhel-9', bootc: { reference: 'registry.redhat.io/rhel9/rhel-bootc:9.7' } }, 'rhel-9'],
    [{ bootc: { reference: 'registry.redhat.io/rhel9/rhel-bootc:9.7' } }, 'rhel-bootc:9.7'],
    [{ bootc: { reference: 'quay.io/centos-bootc/centos-bootc:stream10@sha256:0123abcd' } }, 'centos-bootc:stream10'],
    [{ bootc: { reference: 'localhost/bootc' } }, 'bootc'],
    [{ bootc: { reference: '' } }, 'unknown'],
    [{ bootc: {} }, 'unknown'],
    [{}, 'unknown'],
  ])('%j is %s', (request, name) => {
    expect(composeDistribution(storedComposeRequestSchema.parse(request))).toBe(name);
  });
});
