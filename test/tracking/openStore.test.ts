import fs from 'node:fs';
import { DatabaseUrlError, openStore, parseDatabaseUrl } from '../../src/tracking/openStore';
import { newRequest, useTempFolder } from './helpers';

const cwd = '/srv/bot';

describe('DATABASE_URL', () => {
  it.each([
    ['sqlite:///var/lib/bot/requests.sqlite', '/var/lib/bot/requests.sqlite'],
    ['sqlite:////var/lib/bot/requests.sqlite', '/var/lib/bot/requests.sqlite'],
    ['sqlite:/var/lib/bot/requests.sqlite', '/var/lib/bot/requests.sqlite'],
    ['sqlite://data/requests.sqlite', '/srv/bot/data/requests.sqlite'],
    ['sqlite:data/requests.sqlite', '/srv/bot/data/requests.sqlite'],
    ['sqlite:./requests.sqlite', '/srv/bot/requests.sqlite'],
    ['SQLite:///var/lib/bot/requests.sqlite', '/var/lib/bot/requests.sqlite'],
    ['/var/lib/bot/requests.sqlite', '/var/lib/bot/requests.sqlite'],
    ['data/requests.sqlite', '/srv/bot/data/requests.sqlite'],
    ['../shared/requests.sqlite', '/srv/shared/requests.sqlite'],
    ['  requests.sqlite\n', '/srv/bot/requests.sqlite'],
  ])('reads %j as the SQLite file %s', (url, expected) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual({ kind: 'sqlite', path: expected });
  });

  it.each(['postgres://bot:s3cret@db.example.com/bot', 'postgresql://bot:s3cret@db.example.com:5432/bot?sslmode=require'])(
    'says PostgreSQL is not available yet for %s, without repeating the password',
    (url) => {
      const parse = () => parseDatabaseUrl(url, cwd);

      expect(parse).toThrow(DatabaseUrlError);
      expect(parse).toThrow(/^DATABASE_URL: PostgreSQL support is not available yet/);
      expect(parse).not.toThrow(/s3cret/);
    },
  );

  it.each([
    ['mysql://bot:s3cret@db.example.com/bot', /^DATABASE_URL: the scheme "mysql:" is not supported; use sqlite:/],
    ['', /^DATABASE_URL: is empty/],
    ['   ', /^DATABASE_URL: is empty/],
    ['sqlite:', /^DATABASE_URL: names a folder or nothing, not a database file/],
    ['sqlite://', /^DATABASE_URL: names a folder or nothing, not a database file/],
    ['sqlite:///var/lib/bot/', /^DATABASE_URL: names a folder or nothing, not a database file/],
    ['/var/lib/bot/', /^DATABASE_URL: names a folder or nothing, not a database file/],
  ])('refuses %j with a message naming DATABASE_URL', (url, message) => {
    expect(() => parseDatabaseUrl(url, cwd)).toThrow(message);
    expect(() => parseDatabaseUrl(url, cwd)).not.toThrow(/s3cret/);
  });

  it('gives the reason without the variable name, for a configuration report that adds its own', () => {
    expect(() => parseDatabaseUrl('redis://cache', cwd)).toThrow(
      expect.objectContaining({ reason: expect.stringMatching(/^the scheme "redis:" is not supported/) }),
    );
  });
});

describe('openStore', () => {
  const temp = useTempFolder();

  it('opens a SQLite file given relative to the working directory', async () => {
    const store = temp.closeLater(await openStore('sqlite:data/requests.sqlite', { workingDirectory: temp.folder() }));
    const request = newRequest();

    await store.insert(request);

    expect(fs.existsSync(temp.file('data', 'requests.sqlite'))).toBe(true);
    expect(await store.get(request.id)).toMatchObject({ id: request.id });
  });

  it('refuses a PostgreSQL URL until PostgreSQL support is added', async () => {
    await expect(
      openStore('postgres://bot@localhost/bot', { workingDirectory: temp.folder() }),
    ).rejects.toThrow('PostgreSQL support is not available yet');
  });
});
