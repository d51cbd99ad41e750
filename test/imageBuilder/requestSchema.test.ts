import { ImageBuilderError } from '../../src/imageBuilder';
import { IMAGE_TYPES_BY_UPLOAD_TYPE } from '../../src/imageBuilder/requestSchema';
import { checkComposeRequest, describeWithSpec } from '../support/openapi';
import { describeWithRealDistributions, realApiEnums } from '../support/realDistributions';
import { harness, rejectionOf } from './helpers';

/*
 * Which image type goes with which upload type. The spec does not tie them together; the service's handler does,
 * answering 400 "Invalid image type for upload target" to a wrong pair, so the client must refuse one first.
 */

const ociCompose = (uploadType: string) => ({
  distribution: 'rhel-10',
  image_requests: [{ architecture: 'x86_64', image_type: 'oci', upload_request: { type: uploadType, options: {} } }],
});

function ready() {
  const h = harness();
  h.issueTokens();
  return h;
}

describe('upload targets', () => {
  it('sends an OCI image to OCI object storage, with no options', async () => {
    const h = ready();
    h.serve('POST', '/compose', { status: 201, body: { id: '0b6d3f6e-2c4a-4d55-9a51-3f3c2c1e9a10' } });

    await expect(h.client.createCompose(ociCompose('oci.objectstorage'))).resolves.toEqual({
      id: '0b6d3f6e-2c4a-4d55-9a51-3f3c2c1e9a10',
    });
    expect(JSON.parse(h.apiRequests[0]!.body!)).toEqual(ociCompose('oci.objectstorage'));
  });

  it('refuses an OCI image with an S3 upload, which the service answers with 400, without sending it', async () => {
    const h = ready();

    const error = await rejectionOf(h.client.createCompose(ociCompose('aws.s3')));

    expect(error).toBeInstanceOf(ImageBuilderError);
    expect(error).toMatchObject({ kind: 'invalid-request' });
    expect(h.apiRequests).toHaveLength(0);
  });
});

describeWithSpec('upload targets, checked against the service spec', () => {
  it('sends an OCI compose the spec accepts', () => {
    expect(checkComposeRequest(ociCompose('oci.objectstorage'))).toEqual({ valid: true, errors: [] });
  });
});

describeWithRealDistributions('upload targets, against the service’s own enums', () => {
  const enums = realApiEnums;

  it('knows a pairing for every upload type the service has, and no other', () => {
    expect(Object.keys(IMAGE_TYPES_BY_UPLOAD_TYPE).sort()).toEqual([...enums().UploadTypes].sort());
  });

  it('pairs only image types the service has, each with one upload type', () => {
    const paired = Object.values(IMAGE_TYPES_BY_UPLOAD_TYPE).flat();
    for (const imageType of paired) expect(enums().ImageTypes).toContain(imageType);
    expect(new Set(paired).size).toBe(paired.length);
  });
});
