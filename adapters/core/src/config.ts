/**
 * Configuration at the edge: each adapter kind parses its raw config with a schema, errors name the
 * field, and a service turns raw config into an adapter through one explicit map of modules.
 */
import { z } from "zod";
import { AdapterError, type AdapterErrorCode } from "./errors.ts";
import type { AdapterContext, AdapterModule, ChainAdapter } from "./interface.ts";

const U64_MAX = (1n << 64n) - 1n;

/**
 * A u64 chain quantity written as a decimal string (the form to use in YAML and JSON, which cannot hold
 * every u64 as a number), a non-negative safe integer, or a bigint. Parses to `bigint`.
 */
const U64_HINT = "must be a u64: a decimal string or a non-negative integer";

export const u64Schema = z
  .union([z.bigint(), z.int().nonnegative({ error: U64_HINT }), z.string().regex(/^(0|[1-9][0-9]{0,19})$/, { error: U64_HINT })], {
    error: U64_HINT,
  })
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v <= U64_MAX, { error: "must be a u64: at most 2^64 − 1" });

/** A Shandu chain id (u64). */
export const chainIdSchema = u64Schema;

/**
 * Parses untrusted `raw` with `schema`. Throws {@link AdapterError} `INVALID_CONFIG` whose `facts.path`
 * names the first offending field (dotted, e.g. `rpc.timeoutMs`; an unknown key is named itself).
 */
export function parseConfigWith<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  return parseWith(schema, raw, "INVALID_CONFIG", "adapter config");
}

/** {@link parseConfigWith} for any input: throws `code` with `facts.path`. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, code: AdapterErrorCode, what: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [...issue.path, ...(issue.code === "unrecognized_keys" ? [issue.keys[0]!] : [])].map(String).join(".") || "(root)";
  throw new AdapterError(code, `invalid ${what} at ${path}: ${issue.message}`, { facts: { path, issues: result.error.issues.length } });
}

/** The explicit map a service picks adapters from, keyed by kind. */
export type AdapterModules = Readonly<Record<string, AdapterModule>>;

/**
 * Creates the adapter that `raw.kind` names, from `modules` only. Throws `INVALID_CONFIG` (path `kind`)
 * for a kind not in the map, then whatever the module's `parseConfig` and `create` throw.
 */
export async function createAdapter(modules: AdapterModules, raw: unknown, ctx: AdapterContext): Promise<ChainAdapter> {
  const kind = typeof raw === "object" && raw !== null ? (raw as { kind?: unknown }).kind : undefined;
  const module = typeof kind === "string" && Object.hasOwn(modules, kind) ? modules[kind] : undefined;
  if (!module) {
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at kind: expected one of ${Object.keys(modules).join(", ")}`, {
      facts: { path: "kind", kind: typeof kind === "string" ? kind : String(kind) },
    });
  }
  return module.create(module.parseConfig(raw), ctx);
}
