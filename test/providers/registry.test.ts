import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { commonFields } from '../../src/providers/common';
import { getProvider, imageTypesBuilding, providerForImageType, providers } from '../../src/providers';

describe('provider registry', () => {
  it('offers the clouds, then the downloads: guest image, vSphere, installer ISO, WSL, OCI, in that order', () => {
    expect(providers.map((p) => p.id)).toEqual(['aws', 'azure', 'gcp', 'guest-image', 'vsphere', 'iso', 'wsl', 'oci']);
  });

  it.each([
    ['aws', 'aws'],
    [' AWS ', 'aws'],
    ['guest-image', 'guest-image'],
    ['vsphere', 'vsphere'],
    [' ISO', 'iso'],
    ['wsl', 'wsl'],
    ['oci', 'oci'],
    ['image-installer', undefined],
    ['', undefined],
  ])('finds the provider for the command word %j', (word, id) => {
    expect(getProvider(word)?.id).toBe(id);
  });

  it.each([
    ['aws', 'aws'],
    ['ami', 'aws'],
    ['azure', 'azure'],
    ['vhd', 'azure'],
    ['gcp', 'gcp'],
    ['guest-image', 'guest-image'],
    ['vsphere-ova', 'vsphere'],
    ['vsphere', 'vsphere'],
    ['image-installer', 'iso'],
    ['wsl', 'wsl'],
    ['oci', 'oci'],
    ['network-installer', undefined],
    ['AWS', undefined],
  ])('turns the image type %j of a compose back into its provider', (imageType, id) => {
    expect(providerForImageType(imageType)?.id).toBe(id);
  });

  it('never gives two providers the same id or image type', () => {
    const imageTypes = providers.flatMap((p) => [p.imageType, ...(p.imageTypeAliases ?? [])]);
    expect(new Set(imageTypes).size).toBe(imageTypes.length);
    expect(new Set(providers.map((p) => p.id)).size).toBe(providers.length);
  });

  it.each([
    ['aws', ['x86_64', 'aarch64'], 14],
    ['azure', ['x86_64'], undefined],
    ['gcp', ['x86_64'], 14],
    ['guest-image', ['x86_64', 'aarch64'], 7],
    ['vsphere', ['x86_64'], 7],
    ['iso', ['x86_64', 'aarch64'], 7],
    ['wsl', ['x86_64', 'aarch64'], 7],
    ['oci', ['x86_64'], 7],
  ])('%s builds for %j and keeps the result %p days', (id, architectures, lifetimeDays) => {
    const provider = getProvider(id);
    expect(provider?.architectures).toEqual(architectures);
    expect(provider?.lifetimeDays).toBe(lifetimeDays);
  });
});

describe.each(providers.map((p) => [p.id, p] as const))('fields of %s', (_id, provider) => {
  const fields = [...commonFields(provider, { distributions: [{ name: 'rhel-9' }] }), ...provider.fields];

  it('fit Slack: labels up to 48 characters, hints and placeholders up to 150', () => {
    for (const field of fields) {
      expect(field.label.length).toBeLessThanOrEqual(48);
      expect(field.hint?.length ?? 0).toBeLessThanOrEqual(150);
      expect(field.placeholder?.length ?? 0).toBeLessThanOrEqual(150);
    }
  });

  it('have ids and CLI flags that do not clash with each other or the shared fields', () => {
    expect(new Set(fields.map((f) => f.id)).size).toBe(fields.length);
    expect(new Set(fields.map((f) => f.cli.flag)).size).toBe(fields.length);
    for (const field of fields) expect(field.cli.flag).toMatch(/^[a-z][a-z0-9-]*$/);
  });

  it('offer choices for every select, with the default among them', () => {
    for (const field of fields.filter((f) => f.kind === 'select')) {
      const values = field.options?.map((o) => o.value) ?? [];
      expect(values.length).toBeGreaterThan(0);
      if (field.default !== undefined) expect(values).toContain(field.default);
    }
  });
});

describe('architecture', () => {
  const directory = path.resolve(__dirname, '../../src/providers');

  it.each(readdirSync(directory).filter((f) => f.endsWith('.ts')))(
    '%s imports only its siblings, the shared helpers and date-fns',
    (file) => {
      const source = readFileSync(path.join(directory, file), 'utf8');
      // Statements only: `from '…'` ending an import or export, a bare `import '…'` or `import('…')`, not the word
      // in a command's text ('import' in `oci compute image import`).
      const statements =
        /^\s*(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'|^\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'/gm;
      const imports = [...source.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3]);
      for (const imported of imports)
        expect(imported).toMatch(/^(?:\.\/[A-Za-z]+|\.\.\/shared\/[A-Za-z]+|date-fns(?:\/[A-Za-z]+)?)$/);
    },
  );

  it('keeps providers free of I/O and clocks', () => {
    for (const file of readdirSync(directory).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(path.join(directory, file), 'utf8');
      expect(source).not.toMatch(/\bnew Date\(\)|Date\.now\(|process\.|require\(/);
    }
  });
});

describe('the saved image types that build a cloud', () => {
  it('keeps each as it was saved, once, so the service (which compares them verbatim) matches it', () => {
    const aws = getProvider('aws')!;
    expect(imageTypesBuilding(aws, ['ami', 'guest-image', 'aws', 'ami'])).toEqual(['ami', 'aws']);
    expect(imageTypesBuilding(getProvider('gcp')!, ['ami', 'guest-image'])).toEqual([]);
  });
});
