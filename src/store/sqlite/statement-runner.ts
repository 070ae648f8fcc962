import type Database from "better-sqlite3";

type Params = Record<string, unknown> | readonly unknown[];

/**
 * Runs SQL text through prepared statements cached per text, counting every execution so the
 * benchmark can report statements per transition.
 */
export class StatementRunner {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Database.Statement>();
  #executed = 0;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Statements executed so far. */
  get executed(): number {
    return this.#executed;
  }

  get<Row>(sql: string, params: Params): Row | undefined {
    this.#executed++;
    return this.#prepare(sql).get(...spread(params)) as Row | undefined;
  }

  all<Row>(sql: string, params: Params): Row[] {
    this.#executed++;
    return this.#prepare(sql).all(...spread(params)) as Row[];
  }

  run(sql: string, params: Params): Database.RunResult {
    this.#executed++;
    return this.#prepare(sql).run(...spread(params));
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#cache.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}

/** Positional parameters are passed as they are; a named-parameter object is the only argument. */
function spread(params: Params): unknown[] {
  return Array.isArray(params) ? [...(params as readonly unknown[])] : [params];
}
