import { canonicalAwsAccountId, canonicalGuid, COMPOSE_ID } from '../../src/shared/ids';

describe('AWS account ids', () => {
  it.each([
    ['123456789012', '123456789012'],
    ['1234-5678-9012', '123456789012'],
  ])('reads %s as %s', (text, id) => expect(canonicalAwsAccountId(text)).toBe(id));

  it.each(['12345678901', '1234567890123', '1234-56789-012', '12345678901a', ''])('refuses %p', (text) =>
    expect(canonicalAwsAccountId(text)).toBeUndefined(),
  );
});

describe('GUIDs', () => {
  it('reads a GUID in capitals or in the braces the Azure portal shows, in lower case', () => {
    expect(canonicalGuid('{5C7EF5B6-1C3F-4DA0-A622-0B060239D7D7}')).toBe('5c7ef5b6-1c3f-4da0-a622-0b060239d7d7');
  });

  it.each(['5c7ef5b6-1c3f-4da0-a622-0b060239d7d', '5c7ef5b61c3f4da0a6220b060239d7d7', '{}'])('refuses %p', (text) =>
    expect(canonicalGuid(text)).toBeUndefined(),
  );

  it('takes a compose id to be a UUID', () => {
    expect(COMPOSE_ID.test('123e4567-e89b-12d3-a456-426655440000')).toBe(true);
    expect(COMPOSE_ID.test('123e4567')).toBe(false);
  });
});
