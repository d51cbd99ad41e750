import { composeRequestSchema } from '../../src/imageBuilder/requestSchema';
import { buildComposeRequest, validateOrder } from '../../src/providers/common';
import { aws } from '../../src/providers/aws';
import { MAX_EXTRA_PACKAGES, packagesFormValue, readPackages } from '../../src/providers/packages';
import { checkComposeRequest, describeWithSpec } from '../support/openapi';

/* The "Extra packages" field: what can be told from the text, and the customizations it becomes. */

const read = (packages: string | string[]) => readPackages({ packages });
const context = { distributions: ['rhel-9', 'centos-9'] };

describe('reading extra packages', () => {
  it('takes names separated by spaces, commas or line breaks, groups with @, once each', () => {
    expect(read('vim-enhanced, tmux  @container-tools\ntmux,python3.11 libstdc++')).toEqual({
      ok: true,
      value: ['vim-enhanced', 'tmux', '@container-tools', 'python3.11', 'libstdc++'],
    });
  });

  it('takes repeated CLI flags, and nothing as no packages', () => {
    expect(read(['tmux', 'htop,vim-minimal'])).toEqual({ ok: true, value: ['tmux', 'htop', 'vim-minimal'] });
    expect(readPackages({})).toEqual({ ok: true, value: [] });
    expect(read('  ')).toEqual({ ok: true, value: [] });
  });

  it('refuses what cannot be a package name, naming it', () => {
    const result = read('tmux rm;reboot @ -rf');
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toBe(
      '“rm;reboot”, “@” and “-rf” are not package names: use letters, digits and . _ + - only, @ in front for a group.',
    );
  });

  it(`refuses more than ${MAX_EXTRA_PACKAGES}, pointing to blueprints`, () => {
    const many = Array.from({ length: MAX_EXTRA_PACKAGES + 1 }, (_, i) => `p${i}`).join(' ');
    expect(read(many)).toEqual({
      ok: false,
      error: `Give at most ${MAX_EXTRA_PACKAGES} packages here, not ${MAX_EXTRA_PACKAGES + 1}; build a blueprint for more.`,
    });
  });

  it('puts its message on the packages field, beside the other fields’ messages', () => {
    const result = validateOrder(
      aws,
      { distribution: 'rhel-7', share_with_accounts: '123456789012', packages: 'a|b' },
      context,
    );
    expect(result.ok ? [] : Object.keys(result.errors)).toEqual(['distribution', 'packages']);
  });
});

describeWithSpec('the compose body with extra packages', () => {
  const order = (packages: string) => {
    const result = validateOrder(
      aws,
      { distribution: 'rhel-9', share_with_accounts: '123456789012', packages },
      context,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return buildComposeRequest({ provider: aws, ...result.value });
  };

  it('carries them in customizations.packages, valid against the spec and the strict request schema', () => {
    const body = JSON.parse(JSON.stringify(order('tmux @container-tools')));
    expect(body.customizations).toEqual({ packages: ['tmux', '@container-tools'] });
    expect(checkComposeRequest(body).errors).toEqual([]);
    expect(composeRequestSchema.safeParse(body).success).toBe(true);
  });

  it('has no customizations at all when none were asked for', () => {
    expect(order('')).not.toHaveProperty('customizations');
  });

  it('comes back into the field from a stored request (rebuild)', () => {
    const body = order('tmux, htop');
    expect(packagesFormValue(body.customizations)).toEqual({ packages: 'tmux htop' });
    expect(packagesFormValue(undefined)).toEqual({});
  });
});
