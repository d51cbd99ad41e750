import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { BoundQueries } from '../../src/store/boundQueries';

interface Db {
  t: { id: string; a: string | null; b: number | null };
}

const db = new Kysely<Db>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new SqliteIntrospector(k),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

describe('statements compiled once and bound to new values', () => {
  it('binds each value where the compiler put its placeholder, and compiles a shape once', () => {
    const bound = new BoundQueries();
    let builds = 0;
    const build = (placeholder: (name: string) => string) => {
      builds += 1;
      return db
        .updateTable('t')
        .set({ b: placeholder('b') as unknown as number, a: placeholder('a') })
        .where('id', '=', placeholder('id'))
        .compile();
    };
    const first = bound.bind('t a b', build, { id: 'x', a: 'one', b: 1 });
    const second = bound.bind('t a b', build, { id: 'y', a: null, b: 2 });
    expect(builds).toBe(1);
    expect(first.sql).toBe('update "t" set "b" = ?, "a" = ? where "id" = ?');
    expect(first.parameters).toEqual([1, 'one', 'x']);
    expect(second.parameters).toEqual([2, null, 'y']);
  });

  it('refuses a statement with a value written in place of a placeholder, which a later call could not change', () => {
    const bound = new BoundQueries();
    expect(() =>
      bound.bind('fixed', () => db.updateTable('t').set({ a: 'fixed' }).where('id', '=', 'x').compile(), {}),
    ).toThrow('The statement for "fixed" has a value that is not a placeholder: fixed');
  });
});
