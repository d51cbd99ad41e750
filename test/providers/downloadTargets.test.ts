import { imageRequestSchema } from '../../src/imageBuilder/requestSchema';
import { buildComposeRequest, commonFields, validateOrder } from '../../src/providers/common';
import { installerIso } from '../../src/providers/installerIso';
import { oci } from '../../src/providers/oci';
import { powerShellQuote } from '../../src/providers/powerShell';
import { vsphere } from '../../src/providers/vsphere';
import { wsl } from '../../src/providers/wsl';
import { DEFAULT_LAUNCH_DEFAULTS, type FinishedCompose, type Provider } from '../../src/providers/types';
import { finishedCompose, HOSTILE_VALUES, OFFERED_DISTRIBUTIONS } from './support/fixtures';
import { runWithPrintf, SHELLS } from './support/shell';

/*
 * The targets whose image waits in Image Builder's storage behind a link for 7 days: vSphere (OVA or VMDK), the
 * installer ISO, WSL and OCI. Each says what the link is, when it stops working, and the next command for it.
 */

const S3 = 'https://image-builder-service-production.s3.amazonaws.com/composer-api-1a2b3c4d';
const SIGNATURE = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=abc123';
const OCI_LINK =
  'https://objectstorage.us-ashburn-1.oraclecloud.com/p/Zx9/n/image-builder/b/composer/o/composer-api-1a2b';
const EXPIRES_AT = new Date('2025-03-08T09:59:58.000Z');
const FILE = 'rhel-9-x86_64-1a2b3c4d';

const built = (url: string | undefined, overrides: Partial<FinishedCompose> = {}) =>
  finishedCompose({ upload: { type: 'aws.s3', options: { url } }, ...overrides });

const describe_ = (provider: Provider, compose: FinishedCompose) =>
  provider.describeResult(compose, DEFAULT_LAUNCH_DEFAULTS);

describe.each([
  ['vsphere', vsphere, 'vsphere-ova', 'aws.s3'],
  ['iso', installerIso, 'image-installer', 'aws.s3'],
  ['wsl', wsl, 'wsl', 'aws.s3'],
  ['oci', oci, 'oci', 'oci.objectstorage'],
] as const)('the %s target', (_id, provider: Provider, imageType, uploadType) => {
  it(`builds ${imageType} to ${uploadType} with no options, a pairing the client accepts, shared with nobody`, () => {
    const order = validateOrder(provider, { distribution: 'rhel-9' }, { distributions: [...OFFERED_DISTRIBUTIONS] });
    if (!order.ok) throw new Error(JSON.stringify(order.errors));
    const body = buildComposeRequest({ provider, ...order.value });
    expect(body.image_requests).toEqual([
      { architecture: 'x86_64', image_type: imageType, upload_request: { type: uploadType, options: {} } },
    ]);
    expect(imageRequestSchema.safeParse(body.image_requests[0]).success).toBe(true);
    expect(provider.shareTargets(order.value.options)).toEqual([]);
    expect(provider.shareSummary(order.value.options)).toBe('downloadable for 7 days');
    expect(provider.lifetimeDays).toBe(7);
  });

  it('counts the link’s 7 days from created_at, else from submission', () => {
    const url = provider === oci ? OCI_LINK : `${S3}-disk.x${SIGNATURE}`;
    expect(describe_(provider, built(url)).expiresAt).toEqual(EXPIRES_AT);
    expect(describe_(provider, built(url, { createdAt: undefined })).expiresAt).toEqual(
      new Date('2025-03-08T09:59:57.000Z'),
    );
  });

  it('offers no link or command when the service gave none', () => {
    const result = describe_(provider, built('-o /etc/passwd'));
    expect(result.headline).toMatch(/built, but Image Builder did not report a download link$/);
    expect(result).toMatchObject({ launchCommands: [], copyCommands: [], expiresAt: EXPIRES_AT });
    expect(result.downloadUrl).toBeUndefined();
  });
});

describe('vsphere', () => {
  const OVA = `${S3}-disk.ova${SIGNATURE}`;
  const VMDK = `${S3}-disk.vmdk${SIGNATURE}`;

  it('offers OVA (the default) or a bare VMDK, and builds the image type of the choice', () => {
    const fields = [...commonFields(vsphere, { distributions: [{ name: 'rhel-9' }] }), ...vsphere.fields];
    expect(fields.map((f) => f.id)).toEqual(['distribution', 'architecture', 'image_name', 'vsphere_format']);
    expect(vsphere.fields[0]).toMatchObject({ kind: 'select', default: 'ova', cli: { flag: 'format' } });
    expect(vsphere.fields[0]?.options?.map((o) => o.value)).toEqual(['ova', 'vmdk']);
    for (const [typed, imageType] of [
      [undefined, 'vsphere-ova'],
      ['ova', 'vsphere-ova'],
      ['VMDK', 'vsphere'],
      ['vsphere', 'vsphere'],
    ] as const) {
      const options = vsphere.validate({ vsphere_format: typed });
      if (!options.ok) throw new Error(JSON.stringify(options.errors));
      const body = buildComposeRequest({
        provider: vsphere,
        distribution: 'rhel-9',
        architecture: 'x86_64',
        options: options.value,
      });
      expect(body.image_requests[0].image_type).toBe(imageType);
      expect(imageRequestSchema.safeParse(body.image_requests[0]).success).toBe(true);
    }
  });

  it('names a format it does not know on its field', () => {
    expect(vsphere.validate({ vsphere_format: 'qcow2' })).toEqual({
      ok: false,
      errors: { vsphere_format: '“qcow2” is not a format; choose ova or vmdk.' },
    });
  });

  it('refuses, on the distribution, a format the service does not build of it (rhel-85: a VMDK, no OVA)', () => {
    const context = {
      distributions: ['rhel-85'],
      architecturesOf: () => [{ arch: 'x86_64', image_types: ['aws', 'vsphere'] }],
    };
    expect(validateOrder(vsphere, { distribution: 'rhel-85' }, context)).toEqual({
      ok: false,
      errors: {
        distribution:
          'Image Builder does not build vsphere-ova of rhel-85 on x86_64; choose another distribution or another image type.',
      },
    });
    expect(validateOrder(vsphere, { distribution: 'rhel-85', vsphere_format: 'vmdk' }, context).ok).toBe(true);
    // Until the service has said what rhel-85 builds, the choice is the requester's.
    expect(validateOrder(vsphere, { distribution: 'rhel-85' }, { distributions: ['rhel-85'] }).ok).toBe(true);
  });

  it('pre-fills a rebuild with the format that was built', () => {
    expect(vsphere.formValues({}, undefined, 'vsphere')).toEqual({ vsphere_format: 'vmdk' });
    expect(vsphere.formValues({}, undefined, 'vsphere-ova')).toEqual({ vsphere_format: 'ova' });
    expect(vsphere.formValues({})).toEqual({});
  });

  it('downloads an OVA and imports it with govc import.ova', () => {
    expect(describe_(vsphere, built(OVA, { imageType: 'vsphere-ova' }))).toEqual({
      headline: 'vSphere virtual machine (ova) ready to download',
      summary: [
        { label: 'Distribution', value: 'rhel-9' },
        { label: 'Architecture', value: 'x86_64' },
      ],
      downloadUrl: OVA,
      launchCommands: [
        {
          label:
            'Once downloaded, import it as a virtual machine (govc reads GOVC_URL, GOVC_DATASTORE and the other GOVC_* settings)',
          command: `govc import.ova -name ${FILE} ${FILE}.ova`,
        },
      ],
      copyCommands: [{ label: 'Download it', command: `curl -fLo ${FILE}.ova '${OVA}'` }],
      expiresAt: EXPIRES_AT,
      lifetimeDays: 7,
    });
  });

  it('downloads a VMDK and uploads it with govc import.vmdk', () => {
    expect(describe_(vsphere, built(VMDK, { imageType: 'vsphere' }))).toMatchObject({
      headline: 'vSphere disk (vmdk) ready to download',
      launchCommands: [{ command: `govc import.vmdk ${FILE}.vmdk` }],
      copyCommands: [{ command: `curl -fLo ${FILE}.vmdk '${VMDK}'` }],
    });
  });
});

describe('iso', () => {
  const ISO = `${S3}-installer.iso${SIGNATURE}`;

  it('boots the ISO in a virtual machine, and says in words how to write it to a USB stick', () => {
    expect(describe_(installerIso, built(ISO, { architecture: 'aarch64' }))).toMatchObject({
      headline: 'Installer ISO (iso) ready to download',
      downloadUrl: ISO,
      launchCommands: [
        {
          label: 'Once downloaded, boot it in a virtual machine to try it (libvirt’s virt-install)',
          command:
            'virt-install --name rhel-9-aarch64-1a2b3c4d --arch aarch64 --memory 4096 --vcpus 2 --disk size=20 ' +
            '--cdrom rhel-9-aarch64-1a2b3c4d.iso --os-variant detect=on,require=off',
        },
      ],
      copyCommands: [{ label: 'Download it', command: `curl -fLo rhel-9-aarch64-1a2b3c4d.iso '${ISO}'` }],
      notes: [
        'To install a machine, write rhel-9-aarch64-1a2b3c4d.iso to a USB stick (with Fedora Media Writer, or dd ' +
          'to the stick’s own device: everything on it is erased) and boot the machine from it.',
      ],
      expiresAt: EXPIRES_AT,
    });
  });
});

/**
 * Reads a PowerShell command line the way PowerShell reads these words: a single-quoted string is verbatim, with a
 * doubled quote (' or one of ‘ ’ ‚ ‛) standing for one; ( and ) group a sub-expression and are words of their own;
 * anything else outside quotes is a bare word of ours, which must hold nothing PowerShell would expand.
 */
function powerShellWords(command: string): string[] {
  const words: string[] = [];
  const quote = /['\u2018\u2019\u201A\u201B]/;
  let i = 0;
  while (i < command.length) {
    if (command[i] === ' ') {
      i++;
      continue;
    }
    if (command[i] === '(' || command[i] === ')') {
      words.push(command[i++]!);
      continue;
    }
    let word = '';
    if (quote.test(command[i]!)) {
      i++;
      for (;;) {
        if (i >= command.length) throw new Error(`unterminated quote in ${command}`);
        if (quote.test(command[i]!)) {
          if (i + 1 < command.length && quote.test(command[i + 1]!)) {
            word += command[i];
            i += 2;
            continue;
          }
          i++;
          break;
        }
        word += command[i++];
      }
      if (i < command.length && !' )'.includes(command[i]!)) throw new Error(`a quoted word runs on in ${command}`);
    } else {
      while (i < command.length && !' ()'.includes(command[i]!)) word += command[i++];
      expect(word).not.toMatch(/[`"'‘’‚‛;|&<>{}@]|\$(?!env:USERPROFILE$)/);
    }
    words.push(word);
  }
  return words;
}

describe('wsl', () => {
  const TARBALL = `${S3}-disk.tar.gz${SIGNATURE}`;

  it('downloads and imports in PowerShell, every value single-quoted for PowerShell', () => {
    expect(describe_(wsl, built(TARBALL))).toMatchObject({
      headline: 'WSL image (tar.gz) ready to download',
      downloadUrl: TARBALL,
      launchCommands: [
        {
          label: 'Once downloaded, import it into WSL under your profile (in PowerShell)',
          command: `wsl --import '${FILE}' (Join-Path $env:USERPROFILE 'WSL\\${FILE}') '${FILE}.tar.gz'`,
        },
        { label: 'Then start it', command: `wsl --distribution '${FILE}'` },
      ],
      copyCommands: [{ label: 'Download it (in PowerShell)', command: `curl.exe -fLo '${FILE}.tar.gz' '${TARBALL}'` }],
      expiresAt: EXPIRES_AT,
    });
  });

  it('keeps the file the service names .wsl under that extension', () => {
    expect(describe_(wsl, built(`${S3}-image.wsl${SIGNATURE}`)).copyCommands[0]?.command).toMatch(
      new RegExp(`^curl\\.exe -fLo '${FILE}\\.wsl' `),
    );
  });

  it.each([
    ["it's", "'it''s'"],
    ['‘curly’ ‚low‛', "'‘‘curly’’ ‚‚low‛‛'"],
    ['$(whoami) `n $env:PATH', "'$(whoami) `n $env:PATH'"],
    ['-x', "'-x'"],
    ['', "''"],
  ])('quotes %j for PowerShell as %s', (value, expected) => {
    expect(powerShellQuote(value)).toBe(expected);
    expect(powerShellWords(`wsl ${powerShellQuote(value)}`)).toEqual(['wsl', value]);
  });

  it.each([
    ...HOSTILE_VALUES.filter((v) => !/\s/.test(v)),
    "x'$(Remove-Item${IFS}pwned)'",
    'x’;Remove-Item pwned;’',
    '`$(Remove-Item)`',
    '?a=1&b=$env:SECRET',
  ])('keeps the hostile link %j inert: the download command passes it verbatim', (hostile) => {
    const url = `https://example.com/${hostile}`;
    const result = describe_(wsl, built(url));
    if (/\s/.test(url)) {
      expect(result.downloadUrl).toBeUndefined();
      return;
    }
    expect(powerShellWords(result.copyCommands[0]!.command)).toEqual(['curl.exe', '-fLo', `${FILE}.tar.gz`, url]);
  });

  it.each(HOSTILE_VALUES)('makes the names of a hostile distribution %j plain words', (distribution) => {
    const result = describe_(wsl, built(TARBALL, { distribution }));
    const [importing, starting] = result.launchCommands.map((c) => powerShellWords(c.command));
    const name = importing?.[2] ?? '';
    expect(name).toMatch(/^[A-Za-z0-9._][A-Za-z0-9._-]*$/);
    expect(importing).toEqual([
      'wsl',
      '--import',
      name,
      '(',
      'Join-Path',
      '$env:USERPROFILE',
      `WSL\\${name}`,
      ')',
      `${name}.tar.gz`,
    ]);
    expect(starting).toEqual(['wsl', '--distribution', importing?.[2]]);
  });
});

describe('oci', () => {
  it('imports straight from the link into the compartment the requester names in a variable', () => {
    expect(
      describe_(oci, finishedCompose({ upload: { type: 'oci.objectstorage', options: { url: OCI_LINK } } })),
    ).toMatchObject({
      headline: 'Oracle Cloud image (qcow2) ready to download',
      downloadUrl: OCI_LINK,
      launchCommands: [
        {
          label: 'Import it into your tenancy (set OCI_COMPARTMENT_ID to the compartment’s OCID first)',
          command:
            `oci compute image import from-object-uri --uri ${OCI_LINK} --display-name ${FILE} ` +
            '--source-image-type QCOW2 --compartment-id "$OCI_COMPARTMENT_ID"',
        },
      ],
      copyCommands: [{ label: 'Download it', command: `curl -fLo ${FILE}.qcow2 ${OCI_LINK}` }],
      expiresAt: EXPIRES_AT,
    });
  });
});

describe.each(SHELLS)('the POSIX commands, pasted into %s', (shell) => {
  // A link with whitespace is refused outright, so these attack without any.
  const hostileLinks = [
    ...HOSTILE_VALUES.filter((v) => !/\s/.test(v)),
    '$(touch${IFS}pwned-dollar)',
    '`touch${IFS}pwned-backtick`',
    ';touch${IFS}pwned-semicolon;',
    "x'$(touch${IFS}pwned-quote)'",
    '&&touch${IFS}pwned-and',
    '?a=1&b=$(touch${IFS}pwned-query)',
  ].map((v) => `https://example.com/${v}`);

  const compartment = '$OCI_COMPARTMENT_ID';
  const run = (command: string) => runWithPrintf(command, shell);

  it.each(hostileLinks)('keep the link %j inert in every command', (url) => {
    const composes = { upload: { type: 'aws.s3', options: { url } } };
    const ova = describe_(vsphere, finishedCompose({ ...composes, imageType: 'vsphere-ova' }));
    const iso = describe_(installerIso, finishedCompose(composes));
    const image = describe_(oci, finishedCompose(composes));
    for (const result of [ova, iso, image]) {
      expect(run(result.copyCommands[0]!.command)).toEqual({
        argv: ['curl', '-fLo', expect.stringMatching(/^rhel-9-x86_64-1a2b3c4d\.[a-z0-9.]+$/), url],
        created: [],
      });
    }
    const imported = run(image.launchCommands[0]!.command);
    expect(imported.created).toEqual([]);
    expect(imported.argv.slice(0, 7)).toEqual(['oci', 'compute', 'image', 'import', 'from-object-uri', '--uri', url]);
    // The variable is the requester's, expanded by their shell (empty in this one), and nothing else is.
    expect(imported.argv.slice(-2)).toEqual(['--compartment-id', '']);
    expect(image.launchCommands[0]!.command.endsWith(`--compartment-id "${compartment}"`)).toBe(true);
  });

  it.each(HOSTILE_VALUES)('make a hostile distribution %j a plain name in govc and virt-install', (distribution) => {
    const url = `${S3}-disk.ova${SIGNATURE}`;
    const ova = describe_(vsphere, built(url, { distribution, imageType: 'vsphere-ova' }));
    const iso = describe_(installerIso, built(url.replace('.ova', '.iso'), { distribution }));
    const govc = run(ova.launchCommands[0]!.command);
    expect(govc.created).toEqual([]);
    expect(govc.argv.slice(0, 3)).toEqual(['govc', 'import.ova', '-name']);
    expect(govc.argv[3]).toMatch(/^[A-Za-z0-9._][A-Za-z0-9._-]*$/);
    expect(govc.argv[4]).toBe(`${govc.argv[3]}.ova`);
    const virtInstall = run(iso.launchCommands[0]!.command);
    expect(virtInstall.created).toEqual([]);
    expect(virtInstall.argv.slice(0, 2)).toEqual(['virt-install', '--name']);
    expect(virtInstall.argv).toContain(`${virtInstall.argv[2]}.iso`);
  });
});
