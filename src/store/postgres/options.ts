import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../errors.js";

/** How to reach and lay out a PostgreSQL store. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`, as `pg` understands it. */
  connectionString: string;
  /**
   * The schema that holds Sagaflow's tables; created on first use. Default `"sagaflow"`. A plain
   * lower-case identifier (`/^[a-z_][a-z0-9_]{0,62}$/`), so several deployments can share one database.
   */
  schema?: string;
  /** Connections the store keeps for its calls (the notification listener has its own). Default 10. */
  poolSize?: number;
  /** Shown in `pg_stat_activity.application_name`. Default `"sagaflow"`. */
  applicationName?: string;
}

/** Options with their defaults applied, after checking. */
export interface CheckedPostgresOptions {
  connectionString: string;
  schema: string;
  poolSize: number;
  applicationName: string;
}

export const DEFAULT_SCHEMA = "sagaflow";
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
/** PostgreSQL refuses channel names of NAMEDATALEN (64) bytes or more. */
const MAX_CHANNEL_LENGTH = 63;

/** Applies defaults and refuses what would reach PostgreSQL as malformed SQL or a surprise. */
export function checkPostgresOptions(options: PostgresStoreOptions): CheckedPostgresOptions {
  const { connectionString } = options;
  if (typeof connectionString !== "string" || connectionString.trim() === "") {
    throw new InvalidArgumentError("connectionString", "must be a postgres:// URL");
  }
  const schema = options.schema ?? DEFAULT_SCHEMA;
  // The schema is spliced into SQL text (identifiers cannot be parameters), so only this shape passes.
  if (typeof schema !== "string" || !SCHEMA_PATTERN.test(schema)) {
    throw new InvalidArgumentError("schema", `must match ${SCHEMA_PATTERN.source} (lower-case letters, digits, _), got ${JSON.stringify(schema)}`);
  }
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new InvalidArgumentError("poolSize", `must be an integer ≥ 1, got ${String(poolSize)}`);
  }
  // An application_name in the URL wins over the default, as it would for psql or any libpq client.
  const applicationName = options.applicationName ?? applicationNameInUrl(connectionString) ?? "sagaflow";
  if (typeof applicationName !== "string") {
    throw new InvalidArgumentError("applicationName", `must be a string, got ${typeof applicationName}`);
  }
  return { connectionString, schema, poolSize, applicationName };
}

/** `"name"`: safe only for names that passed `checkPostgresOptions` (no quotes inside). */
export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}

/**
 * The LISTEN/NOTIFY channel of one schema's store: `sagaflow_<schema>`, or for a schema name too
 * long for that, a prefix of it plus a hash, so two long names never share a channel.
 */
export function channelFor(schema: string): string {
  const plain = `sagaflow_${schema}`;
  if (plain.length <= MAX_CHANNEL_LENGTH) return plain;
  const hash = createHash("sha256").update(schema).digest("hex").slice(0, 16);
  return `sagaflow_${schema.slice(0, MAX_CHANNEL_LENGTH - "sagaflow_".length - hash.length - 1)}_${hash}`;
}

/**
 * The `pg_advisory_xact_lock` key that serializes migrations of one schema, as a decimal bigint:
 * stable across processes and versions (it is derived from the name only), distinct per schema
 * so stores of different schemas never wait for each other.
 */
export function migrationLockKey(schema: string): string {
  return createHash("sha256").update(`sagaflow migrations ${schema}`).digest().readBigInt64BE(0).toString();
}

function applicationNameInUrl(connectionString: string): string | undefined {
  try {
    return new URL(connectionString).searchParams.get("application_name") ?? undefined;
  } catch {
    return undefined;
  }
}
