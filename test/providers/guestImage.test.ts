import { describeOtherDownload } from '../../src/providers/download';
import { guestImage } from '../../src/providers/guestImage';
import { DEFAULT_LAUNCH_DEFAULTS } from '../../src/providers/types';
import { finishedCompose, HOSTILE_VALUES } from './support/fixtures';
import { runWithPrintf, SHELLS } from './support/shell';

const URL_FROM_SERVICE =
  'https://image-builder-service-production.s3.amazonaws.com/composer-api-1a2b3c4d-disk.qcow2?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=abc123';

describe('guest-image', () => {
  it('needs nothing from the requester and uploads to Image Builder storage', () => {
    expect(guestImage.fields).toEqual([]);
    expect(guestImage.validate({ anything: 'ignored' })).toEqual({ ok: true, value: {} });
    expect(guestImage.uploadRequest({})).toEqual({ type: 'aws.s3', options: {} });
    expect(guestImage.shareSummary({})).toBe('downloadable for 7 days');
  });

  const built = finishedCompose({ upload: { type: 'aws.s3', options: { url: URL_FROM_SERVICE } } });

  it('offers the download link and a curl command, valid for 7 days', () => {
    expect(guestImage.describeResult(built, DEFAULT_LAUNCH_DEFAULTS)).toEqual({
      headline: 'Guest image (qcow2) ready to download',
      summary: [
        { label: 'Distribution', value: 'rhel-9' },
        { label: 'Architecture', value: 'x86_64' },
      ],
      downloadUrl: URL_FROM_SERVICE,
      launchCommands: [],
      copyCommands: [{ label: 'Download it', command: `curl -fLo rhel-9-x86_64-1a2b3c4d.qcow2 '${URL_FROM_SERVICE}'` }],
      expiresAt: new Date('2025-03-08T09:59:58.000Z'),
      lifetimeDays: 7,
    });
  });

  it('counts the 7 days from submission when created_at is unknown', () => {
    expect(guestImage.describeResult({ ...built, createdAt: undefined }, DEFAULT_LAUNCH_DEFAULTS).expiresAt).toEqual(
      new Date('2025-03-08T09:59:57.000Z'),
    );
  });

  it.each([
    undefined,
    '',
    'ftp://example.com/x.qcow2',
    '-o /etc/passwd',
    'javascript:alert(1)',
    'https://',
    'https://example.com/a\ntouch pwned',
    'https://example.com/a b',
  ])('offers no link or command for the non-download link %j', (url) => {
    const result = guestImage.describeResult(
      { ...built, upload: { type: 'aws.s3', options: { url } } },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result).toMatchObject({
      headline: 'Guest image built, but Image Builder did not report a download link',
      copyCommands: [],
    });
    expect(result.downloadUrl).toBeUndefined();
  });

  describe.each(SHELLS)('with hostile links from the service, pasted into %s', (shell) => {
    // A link with whitespace is refused outright (above), so these attack without any.
    const hostileLinks = [
      ...HOSTILE_VALUES.filter((v) => !/\s/.test(v)),
      '$(touch${IFS}pwned-dollar)',
      '`touch${IFS}pwned-backtick`',
      ';touch${IFS}pwned-semicolon;',
      "x'$(touch${IFS}pwned-quote)'",
      '&&touch${IFS}pwned-and',
      '|touch${IFS}pwned-pipe',
      '?a=1&b=$(touch${IFS}pwned-query)',
    ].map((v) => `https://example.com/${v}`);
    it.each(hostileLinks)('keeps %j inert', (url) => {
      const result = guestImage.describeResult(
        { ...built, upload: { type: 'aws.s3', options: { url } } },
        DEFAULT_LAUNCH_DEFAULTS,
      );
      expect(result.downloadUrl).toBe(url);
      expect(runWithPrintf(result.copyCommands[0]?.command ?? '', shell)).toEqual({
        argv: ['curl', '-fLo', 'rhel-9-x86_64-1a2b3c4d.qcow2', url],
        created: [],
      });
    });
  });
});

describe('the download of an image type no target of the bot builds', () => {
  const VMDK =
    'https://image-builder-service-production.s3.amazonaws.com/composer-api-1a2b3c4d-disk.vmdk?X-Amz-Signature=abc123';
  const built = (url: string | undefined) => finishedCompose({ upload: { type: 'aws.s3', options: { url } } });

  it('is named by its image type, saved with the extension of the linked file, for 7 days', () => {
    expect(describeOtherDownload(built(VMDK), 'vsphere')).toMatchObject({
      headline: 'vsphere image (vmdk) ready to download',
      downloadUrl: VMDK,
      copyCommands: [{ label: 'Download it', command: `curl -fLo rhel-9-x86_64-1a2b3c4d.vmdk '${VMDK}'` }],
      expiresAt: new Date('2025-03-08T09:59:58.000Z'),
      lifetimeDays: 7,
    });
  });

  it('saves a linked file without an extension under a name without one', () => {
    const url = 'https://objectstorage.example.com/p/abc/b/bucket/o/osbuild-upload-1234';
    expect(describeOtherDownload(built(url), 'oci')).toMatchObject({
      headline: 'oci image ready to download',
      copyCommands: [{ command: `curl -fLo rhel-9-x86_64-1a2b3c4d ${url}` }],
    });
  });

  it('offers no link for a non-download link, and names the image type safely', () => {
    expect(describeOtherDownload(built('-o /etc/passwd'), 'weird type; rm -rf /')).toMatchObject({
      headline: 'weird-type-rm-rf image built, but Image Builder did not report a download link',
      copyCommands: [],
    });
  });

  it.each(SHELLS)('keeps a hostile link inert in %s, with a plain file name', (shell) => {
    const url = 'https://example.com/x.$(touch${IFS}pwned).iso';
    const result = describeOtherDownload(built(url), 'image-installer');
    expect(runWithPrintf(result.copyCommands[0]?.command ?? '', shell)).toEqual({
      argv: ['curl', '-fLo', 'rhel-9-x86_64-1a2b3c4d.iso', url],
      created: [],
    });
  });
});
