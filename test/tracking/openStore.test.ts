import fs from 'node:fs';
import {
  databaseUrlSecrets,
  DatabaseUrlError,
  parseDatabaseUrl,
  plaintextDatabaseWarning,
} from '../../src/config/databaseUrl';
import { openStore } from '../../src/store/openStore';
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

  it.each([
    [
      'postgres://bot:s3cret@db.example.com/bot',
      { kind: 'postgres', connectionString: 'postgres://bot:s3cret@db.example.com/bot' },
    ],
    [
      '  postgresql://bot:s3cret@db.example.com:5432/bot?sslmode=require ',
      { kind: 'postgres', connectionString: 'postgresql://bot:s3cret@db.example.com:5432/bot?sslmode=require' },
    ],
    [
      'postgres://bot@db.example.com/bot?schema=image_builder&sslmode=verify-full',
      {
        kind: 'postgres',
        connectionString: 'postgres://bot@db.example.com/bot?schema=image_builder&sslmode=verify-full',
        schema: 'image_builder',
      },
    ],
    [
      'postgres://bot@/bot?host=/run/postgresql',
      { kind: 'postgres', connectionString: 'postgres://bot@/bot?host=/run/postgresql' },
    ],
  ])('reads %j as a PostgreSQL database', (url, expected) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual(expected);
  });

  it.each([
    ['postgres://bot:s3cret@db.example.com/bot?schema=Image-Builder', /\?schema= must be a lower-case PostgreSQL name/],
    ['postgres://bot:s3cret@db.example.com/bot?schema=a&schema=b', /names \?schema= more than once/],
    ['postgres://bot:s3cret@[db/bot', /is not a valid PostgreSQL URL/],
    // pg decodes the password and would fail at connect with "URI malformed".
    [
      'postgres://bot:s3cret50%off@db.example.com/bot',
      /^DATABASE_URL: its user name or password has a "%" that is not followed by two hexadecimal digits; write a literal % as %25$/,
    ],
  ])('refuses the PostgreSQL URL %j, without repeating the password', (url, message) => {
    const parse = () => parseDatabaseUrl(url, cwd);

    expect(parse).toThrow(DatabaseUrlError);
    expect(parse).toThrow(message);
    expect(parse).not.toThrow(/s3cret/);
  });

  it.each([
    [
      'mysql://bot:s3cret@db.example.com/bot',
      /^DATABASE_URL: the scheme "mysql:" is not supported; use postgres:\/\/.*, sqlite:/,
    ],
    ['', /^DATABASE_URL: is empty/],
    ['   ', /^DATABASE_URL: is empty/],
    ['sqlite:', /^DATABASE_URL: names a folder or nothing, not a database file/],
    ['sqlite://', /^DATABASE_URL: names a folder or nothing, not a database file/],
    ['sqlite:///var/lib/bot/', /^DATABASE_URL: names a folder or nothing, not a database file/],
    ['/var/lib/bot/', /^DATABASE_URL: names a folder or nothing, not a database file/],
    // Not a file path: a folder named after the password.
    ['postgres//bot:s3cret@db.example.com/bot', /^DATABASE_URL: looks like a URL without the ":" after its scheme/],
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

  it('reaches a PostgreSQL URL through the PostgreSQL store, naming it without the password when it cannot', async () => {
    const opening = openStore('postgres://bot:s3cret@127.0.0.1:1/bot', { workingDirectory: temp.folder() });

    await expect(opening).rejects.toMatchObject({ name: 'StoreError', kind: 'unavailable' });
    await expect(opening).rejects.toThrow(
      /^Build-request database postgres:\/\/bot@127\.0\.0\.1:1\/bot cannot be opened/,
    );
    await expect(opening).rejects.not.toThrow(/s3cret/);
  });
});

describe('the secrets in DATABASE_URL', () => {
  it.each([
    ['postgres://bot:s3cret@db.example.com/bot', ['s3cret']],
    ['postgresql://bot:p%40ss%3Aword@db.example.com/bot', ['p%40ss%3Aword', 'p@ss:word']],
    ['postgres://bot@db.example.com/bot', []],
    ['sqlite:///var/lib/bot/requests.sqlite', []],
    ['data/requests.sqlite', []],
  ])('finds the password of %j for the logger to redact', (url, secrets) => {
    expect(databaseUrlSecrets(url)).toEqual(secrets);
  });
});

describe('a PostgreSQL connection in clear', () => {
  it.each([
    ['a server elsewhere, without sslmode', 'postgres://bot:pw@db.example.com:5432/bot', {}, 'db.example.com'],
    ['a host given as ?host=', 'postgres://bot@localhost/bot?host=db.internal', {}, 'db.internal'],
    ['PGHOST, when the URL names no host', 'postgres://bot@/bot', { PGHOST: '10.0.0.5' }, '10.0.0.5'],
  ])('is warned of for %s, naming the host and how to encrypt it, never the password', (_case, url, env, host) => {
    const warning = plaintextDatabaseWarning(url, env);
    expect(warning).toContain(`the PostgreSQL server ${host} is not on this host and no sslmode is set`);
    expect(warning).toContain('?sslmode=verify-full');
    expect(warning).not.toContain('pw');
  });

  it.each([
    ['sslmode', 'postgres://bot@db.example.com/bot?sslmode=verify-full', {}],
    ['sslmode=disable, chosen on purpose', 'postgres://bot@db.example.com/bot?sslmode=disable', {}],
    ['ssl=true', 'postgres://bot@db.example.com/bot?schema=bot&ssl=true', {}],
    ['a root CA', 'postgres://bot@db.example.com/bot?sslrootcert=/etc/ca.pem', {}],
    ['PGSSLMODE', 'postgres://bot@db.example.com/bot', { PGSSLMODE: 'verify-full' }],
    ['localhost', 'postgres://bot@localhost:5432/bot', {}],
    ['a loopback address', 'postgres://bot@127.0.0.1:5432/bot', {}],
    ['IPv6 loopback', 'postgres://bot@[::1]:5432/bot', {}],
    ['a Unix socket', 'postgres://bot@/bot?host=/run/postgresql', {}],
    ['the default socket', 'postgres://bot@/bot', {}],
    ['SQLite', './data/image-builder-bot.sqlite', {}],
  ])('is not warned of with %s', (_case, url, env) => {
    expect(plaintextDatabaseWarning(url, env)).toBeUndefined();
  });
});
