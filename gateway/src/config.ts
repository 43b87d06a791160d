/**
 * The one configuration file (YAML) every Shandu role reads: chains and their adapters, the committee,
 * lanes, batch policy, store, NATS, the gateway's listeners and TLS, attesters and the relayer. It is
 * parsed once, here, into a typed object; errors name the field (`lanes.0.to: unknown chain "x"`).
 * Paths in the file are relative to the file. Adapter sections are checked by the adapter module of
 * their `kind`, from the map the caller passes (no adapter registers itself).
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { type AdapterConfigBase, AdapterError, type AdapterModules } from "@shandu/adapter-core";
import type { NativeKeySchemeName } from "@shandu/proofs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { GatewayError } from "./errors.ts";

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const listen = z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: "must be host:port (port 0 picks a free one)" });

const tlsServer = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  /** CA that signs client certificates; with requireClientCert, mutual TLS. */
  clientCaFile: z.string().min(1).optional(),
  requireClientCert: z.boolean().default(false),
});

const tlsClient = z.strictObject({
  caFile: z.string().min(1),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
});

const gatewayClient = z.strictObject({
  /** host:port of a gateway's gRPC listener. */
  address: z.string().min(1),
  tls: tlsClient.optional(),
  deadlineMs: z.int().min(1).max(600_000).default(10_000),
});

export const configSchema = z
  .strictObject({
    /** Chains by name (lower-case, digits, dashes); each value is its adapter's config. */
    chains: z.record(
      z.string().regex(NAME, { error: "chain names are lower-case letters, digits and dashes" }),
      z.looseObject({ kind: z.string() }),
    ),
    committee: z.strictObject({
      /** Committee JSON (docs/protocol.md) of the genesis epoch. */
      genesisFile: z.string().min(1),
      /** Rotation records JSON, in epoch order. */
      rotationFiles: z.array(z.string().min(1)).default([]),
    }),
    lanes: z.array(z.strictObject({ from: z.string(), to: z.string() })).min(1, { error: "at least one lane is needed" }),
    policy: z
      .strictObject({
        batch: z
          .strictObject({
            windowBlocks: z.int().min(1).max(10_000).default(1),
            maxMessages: z.int().min(1).max(1024).default(128),
          })
          .default({ windowBlocks: 1, maxMessages: 128 }),
      })
      .default({ batch: { windowBlocks: 1, maxMessages: 128 } }),
    store: z
      .strictObject({
        /** postgres://… — absent: the embedded PGlite store. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, { error: "must be a postgres:// URL" })
          .optional(),
        /** Embedded store directory; absent: in memory. */
        dataDir: z.string().min(1).optional(),
      })
      .default({}),
    nats: z
      .strictObject({
        servers: z.array(z.string().min(1)).min(1).optional(),
        /** In-process queue for one-process setups (devnet without nats-server). */
        embedded: z.boolean().default(false),
      })
      .check((ctx) => {
        if (!ctx.value.embedded && !ctx.value.servers) {
          ctx.issues.push({ code: "custom", input: ctx.value, path: ["servers"], message: "name the NATS servers, or set embedded: true" });
        }
      }),
    gateway: z
      .strictObject({
        grpc: z.strictObject({ listen, tls: tlsServer.optional() }),
        http: z.strictObject({ listen }).optional(),
        /** Ed25519 key (32 bytes hex, mode 0600) that signs transparency-log tree heads. */
        logKeyFile: z.string().min(1),
        /** Chains whose adapters the gateway uses for bundle evidence; default: all. */
        evidenceChains: z.array(z.string()).optional(),
      })
      .optional(),
    attesters: z
      .array(
        z.strictObject({
          member: z.string().min(1),
          /** BLS secret key (32 bytes hex, mode 0600). */
          blsKeyFile: z.string().min(1),
          /** Native keys (32 bytes hex, mode 0600), needed for lanes into chains that verify native co-signatures. */
          secp256k1KeyFile: z.string().min(1).optional(),
          sm2KeyFile: z.string().min(1).optional(),
          stateDir: z.string().min(1),
          gateway: gatewayClient,
        }),
      )
      .default([]),
    relayer: z
      .strictObject({
        name: z.string().min(1).default("relayer"),
        /** Lanes to relay; default: all. */
        lanes: z.array(z.strictObject({ from: z.string(), to: z.string() })).optional(),
        ackWaitMs: z.int().min(100).max(3_600_000).default(30_000),
        maxDeliver: z.int().min(1).max(10_000).default(100),
        backoffMs: z.int().min(1).max(600_000).default(1000),
        http: z.strictObject({ listen }).optional(),
      })
      .optional(),
  })
  .check((ctx) => {
    const chains = ctx.value.chains;
    const lanesOf = (key: "lanes", list: { from: string; to: string }[], base: (string | number)[]) =>
      list.forEach((l, i) => {
        for (const end of ["from", "to"] as const) {
          if (!Object.hasOwn(chains, l[end])) {
            ctx.issues.push({ code: "custom", input: l, path: [...base, i, end], message: `unknown chain "${l[end]}"` });
          }
        }
        if (l.from === l.to)
          ctx.issues.push({ code: "custom", input: l, path: [...base, i, "to"], message: `a lane joins two different chains (${key})` });
      });
    lanesOf("lanes", ctx.value.lanes, ["lanes"]);
    if (ctx.value.relayer?.lanes) lanesOf("lanes", ctx.value.relayer.lanes, ["relayer", "lanes"]);
  });

export type RawConfig = z.output<typeof configSchema>;

export interface ChainConfig {
  name: string;
  chainId: bigint;
  /** Parsed by the adapter module of its kind. */
  adapter: AdapterConfigBase;
  /** Set when the chain's inbox verifies native co-signatures (§6.5) instead of BLS aggregates. */
  nativeScheme?: NativeKeySchemeName;
}

export interface ShanduConfig extends Omit<RawConfig, "chains" | "lanes"> {
  /** Directory of the config file: relative paths were resolved against it. */
  baseDir: string;
  chains: Map<string, ChainConfig>;
  lanes: { from: string; to: string; sourceChainId: bigint; destinationChainId: bigint }[];
}

function fieldError(path: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError("INVALID_REQUEST", `invalid config at ${path}: ${message}`, { facts: { field: path }, cause });
}

const PATH_KEYS = /File$|Dir$/;

/** Resolves every `…File` / `…Dir` string value against `base`. */
function resolvePaths<T>(v: T, base: string): T {
  if (Array.isArray(v)) return v.map((x) => resolvePaths(x, base)) as T;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === "string" && PATH_KEYS.test(k)) out[k] = isAbsolute(x) ? x : resolve(base, x);
      else if (k === "rotationFiles" && Array.isArray(x)) out[k] = x.map((f: string) => (isAbsolute(f) ? f : resolve(base, f)));
      else out[k] = resolvePaths(x, base);
    }
    return out as T;
  }
  return v;
}

/**
 * Parses an untrusted config object (YAML already parsed). Throws `INVALID_REQUEST` whose `facts.field`
 * names the first offending field, including fields inside adapter sections.
 */
export function parseConfig(raw: unknown, modules: AdapterModules, baseDir: string): ShanduConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = [...issue.path, ...(issue.code === "unrecognized_keys" ? [issue.keys[0]!] : [])].map(String).join(".") || "(root)";
    throw fieldError(path, issue.code === "unrecognized_keys" ? "unknown field" : issue.message);
  }
  const c = resolvePaths(result.data, baseDir);
  const chains = new Map<string, ChainConfig>();
  const ids = new Map<bigint, string>();
  for (const [name, section] of Object.entries(c.chains)) {
    const module = Object.hasOwn(modules, section.kind) ? modules[section.kind] : undefined;
    if (!module)
      throw fieldError(`chains.${name}.kind`, `unknown adapter kind "${section.kind}" (known: ${Object.keys(modules).join(", ")})`);
    let adapter: AdapterConfigBase;
    try {
      adapter = module.parseConfig(section);
    } catch (e) {
      if (e instanceof AdapterError) throw fieldError(`chains.${name}.${String(e.facts.path ?? "")}`, e.shortMessage, e);
      throw e;
    }
    const clash = ids.get(adapter.chainId);
    if (clash) throw fieldError(`chains.${name}.chainId`, `chain id ${adapter.chainId} is also used by "${clash}"`);
    ids.set(adapter.chainId, name);
    const nativeScheme = module.nativeScheme?.(adapter);
    chains.set(name, { name, chainId: adapter.chainId, adapter, ...(nativeScheme ? { nativeScheme } : {}) });
  }
  const lanes = c.lanes.map((l) => ({ ...l, sourceChainId: chains.get(l.from)!.chainId, destinationChainId: chains.get(l.to)!.chainId }));
  const seen = new Set<string>();
  lanes.forEach((l, i) => {
    const k = `${l.from}->${l.to}`;
    if (seen.has(k)) throw fieldError(`lanes.${i}`, `lane ${k} is listed twice`);
    seen.add(k);
  });
  const members = new Set<string>();
  c.attesters.forEach((a, i) => {
    if (members.has(a.member)) throw fieldError(`attesters.${i}.member`, `member "${a.member}" is listed twice`);
    members.add(a.member);
  });
  return { ...c, baseDir, chains, lanes };
}

/** Reads and parses a YAML config file. */
export async function loadConfig(path: string, modules: AdapterModules): Promise<ShanduConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new GatewayError("INVALID_REQUEST", `config file not found: ${path}`, { cause, facts: { field: "config" } });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new GatewayError("INVALID_REQUEST", `config file ${path} is not valid YAML: ${(cause as Error).message}`, {
      cause,
      facts: { field: "config" },
    });
  }
  return parseConfig(raw, modules, dirname(resolve(path)));
}
