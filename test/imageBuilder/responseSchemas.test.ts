import { isFinalStatus, isKnownStatus, KNOWN_IMAGE_STATUSES } from '../../src/compose/status';
import {
  composeErrorLines,
  composeStatusSchema,
  parseServiceTimestamp,
  uploadStatusSchema,
} from '../../src/imageBuilder/responseSchemas';

const statusWith = (imageStatus: object) =>
  composeStatusSchema.parse({ image_status: imageStatus, request: { image_requests: [] } });

describe('compose statuses', () => {
  it('knows the service statuses and only success and failure are final', () => {
    expect(KNOWN_IMAGE_STATUSES).toEqual(['pending', 'building', 'uploading', 'registering', 'success', 'failure']);
    expect(KNOWN_IMAGE_STATUSES.filter(isFinalStatus)).toEqual(['success', 'failure']);
  });

  it.each(['running', 'queued-for-later', ''])('keeps the unknown status %p as in progress', (status) => {
    expect(statusWith({ status }).image_status.status).toBe(status);
    expect(isFinalStatus(status)).toBe(false);
    expect(isKnownStatus(status)).toBe(false);
  });

  it.each(['', 'building', 'queued-for-later'])(
    'reads the status %p with an error as a failure: the error ends the build',
    (status) => {
      const error = { id: 1, reason: '1 pigeon', details: 'many pigeons' };
      expect(statusWith({ status, error }).image_status).toMatchObject({ status: 'failure', error });
    },
  );

  it('keeps a success a success, even with an error beside it', () => {
    expect(statusWith({ status: 'success', error: { id: 1, reason: 'a warning' } }).image_status.status).toBe(
      'success',
    );
  });

  it('keeps fields the service adds later', () => {
    const parsed = statusWith({ status: 'building', eta_seconds: 42 });
    expect(parsed.image_status).toMatchObject({ eta_seconds: 42 });
  });

  it('accepts null where Go leaves an optional field empty', () => {
    const parsed = statusWith({ status: 'pending', progress: null, upload_status: null, error: null });
    expect(parsed.image_status.progress).toBeUndefined();
    expect(parsed.image_status.upload_status).toBeUndefined();
    expect(parsed.image_status.error).toBeUndefined();
  });

  it('reads a status without the request (older service versions) as a request with nothing known', () => {
    const parsed = composeStatusSchema.parse({ image_status: { status: 'pending' } });
    expect(parsed.request).toMatchObject({ image_requests: [] });
    expect(parsed.request.distribution).toBeUndefined();
  });

  it('reads progress with and without sub-steps', () => {
    expect(statusWith({ status: 'building', progress: { done: 3, total: 7 } }).image_status.progress).toEqual({
      done: 3,
      total: 7,
    });
    expect(
      statusWith({ status: 'building', progress: { done: 3, total: 7, subprogress: { done: 10, total: 40 } } })
        .image_status.progress,
    ).toEqual({
      done: 3,
      total: 7,
      subprogress: { done: 10, total: 40 },
    });
  });
});

describe('where the image landed', () => {
  const upload = (type: string, options: unknown, status = 'success') =>
    uploadStatusSchema.parse({ status, type, options });

  it('reads an AWS result', () => {
    expect(upload('aws', { ami: 'ami-0c830793775595d4b', region: 'us-east-1' }).result).toEqual({
      type: 'aws',
      ami: 'ami-0c830793775595d4b',
      region: 'us-east-1',
    });
  });

  it('reads a GCP result as GCP although it also fits the Azure shape', () => {
    expect(upload('gcp', { project_id: 'ascendant-braid-303513', image_name: 'my-image' }).result).toEqual({
      type: 'gcp',
      project_id: 'ascendant-braid-303513',
      image_name: 'my-image',
    });
  });

  it('reads an Azure result', () => {
    expect(upload('azure', { image_name: 'composer-api-abc' }).result).toEqual({
      type: 'azure',
      image_name: 'composer-api-abc',
    });
  });

  it('reads download URLs for aws.s3 and oci.objectstorage', () => {
    expect(upload('aws.s3', { url: 'https://s3.example/image.qcow2' }).result).toEqual({
      type: 'aws.s3',
      url: 'https://s3.example/image.qcow2',
    });
    expect(upload('oci.objectstorage', { url: 'https://oci.example/x' }).result).toEqual({
      type: 'oci.objectstorage',
      url: 'https://oci.example/x',
    });
  });

  it('keeps an unknown upload type as the service sent it', () => {
    const parsed = upload('pulp.ostree', { repo_url: 'https://pulp.example/repo' });
    expect(parsed).toMatchObject({ type: 'pulp.ostree', options: { repo_url: 'https://pulp.example/repo' } });
    expect(parsed.result).toBeUndefined();
  });

  it('has no result while the upload is pending or running, without failing the status', () => {
    expect(upload('aws', {}, 'pending').result).toBeUndefined();
    expect(upload('gcp', undefined, 'running')).toMatchObject({ status: 'running', type: 'gcp' });
  });
});

describe('why a build failed', () => {
  it('shows a reason with string details', () => {
    expect(composeErrorLines({ reason: 'osbuild build failed', details: 'stage org.osbuild.rpm failed' })).toEqual([
      'osbuild build failed',
      '  stage org.osbuild.rpm failed',
    ]);
  });

  it('shows nested reasons from a list, indented by depth', () => {
    const parsed = statusWith({
      status: 'failure',
      error: {
        id: 10,
        reason: 'Manifest dependency failed',
        details: [
          {
            id: 5,
            reason: 'Error in depsolve job',
            details: [
              {
                id: 20,
                reason: 'DNF error occurred: MarkingErrors',
                details: 'Error occurred when marking packages: nonexistent',
              },
            ],
          },
          { id: 9, reason: 'Upload skipped' },
        ],
      },
    });

    expect(composeErrorLines(parsed.image_status.error!)).toEqual([
      'Manifest dependency failed',
      '  Error in depsolve job',
      '    DNF error occurred: MarkingErrors',
      '      Error occurred when marking packages: nonexistent',
      '  Upload skipped',
    ]);
  });

  it('shows a single nested error object', () => {
    expect(
      composeErrorLines({ reason: 'upload failed', details: { id: 3, reason: 'AWS refused the snapshot' } }),
    ).toEqual(['upload failed', '  AWS refused the snapshot']);
  });

  it('shows an object without a reason as compact JSON', () => {
    expect(composeErrorLines({ reason: 'build failed', details: { exit_code: 1, stage: 'rpm' } })).toEqual([
      'build failed',
      '  {"exit_code":1,"stage":"rpm"}',
    ]);
  });

  it('shows a repeated cause once and caps the number of lines', () => {
    const details = Array.from({ length: 30 }, (_, i) => ({
      id: i,
      reason: i % 2 === 0 ? 'same cause' : `cause ${i}`,
    }));
    const lines = composeErrorLines({ reason: 'many failures', details }, 5);
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => l.trim() === 'same cause')).toHaveLength(1);
    expect(lines[4]).toMatch(/^… \d+ more$/);
  });

  it('accepts the error id and details in any shape the service sends', () => {
    for (const details of ['text', { any: 'thing' }, [{ id: 1, reason: 'r' }], null, undefined]) {
      expect(() => statusWith({ status: 'failure', error: { id: 1, reason: 'failed', details } })).not.toThrow();
    }
  });
});

describe('service timestamps', () => {
  it('reads ISO 8601 and the Go time format the service has used', () => {
    expect(parseServiceTimestamp('2025-05-01T10:20:30Z')?.toISOString()).toBe('2025-05-01T10:20:30.000Z');
    expect(parseServiceTimestamp('2025-05-01T10:20:30.5+02:00')?.toISOString()).toBe('2025-05-01T08:20:30.500Z');
    expect(parseServiceTimestamp('2025-05-01 10:20:30.123456 +0000 UTC')?.toISOString()).toBe(
      '2025-05-01T10:20:30.123Z',
    );
    expect(parseServiceTimestamp('2025-05-01 10:20:30 -0500 EST')?.toISOString()).toBe('2025-05-01T15:20:30.000Z');
  });

  it('returns undefined for what it cannot read', () => {
    expect(parseServiceTimestamp('yesterday')).toBeUndefined();
    expect(parseServiceTimestamp('2025-13-45T99:00:00Z')).toBeUndefined();
  });
});
