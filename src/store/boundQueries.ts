import type { CompiledQuery } from 'kysely';

/*
 * Statements compiled once per shape and bound to new values at each call. Kysely builds and compiles a query anew at
 * every call and has no way to bind new values to a compiled one; on the poller's every step that cost more than the
 * database took to run the statement (SQLite, one fenced status update: about 70 µs of building and compiling against
 * 45 µs of running). A shape is compiled with a marker in place of each named value; the compiled parameters then say
 * which value goes where, whatever order the compiler put them in.
 */

const MARKER = '\u0000bound:';

/** How many shapes are kept; the store has a few dozen (an UPDATE per set of columns). */
const MAX_SHAPES = 200;

interface Shape {
  query: CompiledQuery;
  names: string[];
}

export type Placeholder = (name: string) => string;

export class BoundQueries {
  private readonly shapes = new Map<string, Shape>();

  /**
   * The query `build` makes for `key`, with `values` bound. `build` must write every value as `placeholder(name)`
   * and give the same query for the same key.
   */
  bind(
    key: string,
    build: (placeholder: Placeholder) => CompiledQuery,
    values: Record<string, unknown>,
  ): CompiledQuery {
    const shape = this.shapes.get(key) ?? this.compile(key, build);
    return { ...shape.query, parameters: shape.names.map((name) => values[name]) };
  }

  private compile(key: string, build: (placeholder: Placeholder) => CompiledQuery): Shape {
    const query = build((name) => `${MARKER}${name}`);
    const names = query.parameters.map((parameter) => {
      if (typeof parameter !== 'string' || !parameter.startsWith(MARKER)) {
        throw new Error(`The statement for "${key}" has a value that is not a placeholder: ${String(parameter)}`);
      }
      return parameter.slice(MARKER.length);
    });
    if (this.shapes.size >= MAX_SHAPES) this.shapes.delete(this.shapes.keys().next().value as string);
    const shape = { query, names };
    this.shapes.set(key, shape);
    return shape;
  }
}
