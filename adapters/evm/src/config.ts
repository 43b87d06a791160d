/**
 * Configuration of the EVM adapter, parsed once at the edge. The config names where the signing key
 * lives (a file or an environment variable), never the key itself, so a config can be logged or shown.
 */
import { chainIdSchema, parseConfigWith, u64Schema } from "@shandu/adapter-core";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";

const ADDRESS_HINT = "must be a 20-byte hex address (0x…), with a valid checksum if mixed-case";

const addressSchema = z
  .string({ error: ADDRESS_HINT })
  .refine((s) => /^0x[0-9a-fA-F]{40}$/.test(s) && isAddress(s), { error: ADDRESS_HINT })
  .transform((s) => getAddress(s));

/** A wei amount (u256) as a decimal string, or a non-negative safe integer. */
const weiSchema = z
  .union([z.int().nonnegative(), z.string().regex(/^(0|[1-9][0-9]{0,77})$/)], { error: "must be a wei amount: a decimal string" })
  .transform((v) => BigInt(v))
  .refine((v) => v < 1n << 256n, { error: "must be a wei amount below 2^256" });

const signerSchema = z.union(
  [
    z.strictObject({
      /** Path of a file holding the 32-byte secp256k1 key as hex (surrounding whitespace ignored). */
      keyFile: z.string().min(1),
    }),
    z.strictObject({
      /** Name of the environment variable holding the key as hex. */
      keyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" }),
    }),
  ],
  { error: "must be {keyFile: <path>} or {keyEnv: <variable name>}" },
);

const gasSchema = z.strictObject({
  /** Gas limit sent = the node's estimate × this (default 1.2). */
  limitMultiplier: z.number().min(1).max(10).default(1.2),
  /** EIP-1559 fee cap; also caps a legacy gas price. Default: what the node suggests. */
  maxFeePerGasWei: weiSchema.optional(),
  /** EIP-1559 tip. Default: what the node suggests. */
  maxPriorityFeePerGasWei: weiSchema.optional(),
});

export const evmConfigSchema = z
  .strictObject({
    kind: z.literal("evm"),
    /** The Shandu chain id (u64) this chain has in the alliance configuration. */
    chainId: chainIdSchema,
    /** JSON-RPC endpoint, http(s). */
    rpcUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
    /** EIP-155 chain id the node must report; checked when the adapter is created. */
    evmChainId: u64Schema.refine((v) => v > 0n, { error: "must be positive" }),
    /** Address of the `ShanduOutbox` (needed to watch and for source evidence). */
    outbox: addressSchema.optional(),
    /** Address of the `ShanduInbox` (needed to deliver, for delivery status and destination evidence). */
    inbox: addressSchema.optional(),
    /** A block is final once at least this many blocks are on top of it (0: final when mined). */
    finalityDepthBlocks: z.int().min(0).max(1_000_000),
    /** How often a watch asks for new blocks, and how often a sent transaction is looked for. */
    pollIntervalMs: z.int().min(1).max(3_600_000).default(2000),
    /** Account that pays for deliveries; required for `submitBatch`. */
    signer: signerSchema.optional(),
    gas: gasSchema.default({ limitMultiplier: 1.2 }),
    /** Time allowed for one JSON-RPC request. */
    rpcTimeoutMs: z.int().min(1).max(600_000).default(10_000),
    /** Retries of a request that failed with a transport error (so `maxRetries + 1` attempts). */
    maxRetries: z.int().min(0).max(20).default(3),
    /** Delay before the first retry; doubled for each further one. */
    retryBackoffMs: z.int().min(0).max(600_000).default(250),
    /** How long to wait for a sent transaction's receipt before `SUBMISSION_TIMEOUT`. */
    submissionTimeoutMs: z.int().min(1).max(86_400_000).default(120_000),
    /** Largest block range asked of `eth_getLogs` at once (providers often cap it). */
    logRangeBlocks: z.int().min(1).max(1_000_000).default(2000),
    /** No Shandu contract log is older than this block (the deployment block); log searches stop here. */
    deploymentBlock: u64Schema.default(0n),
  })
  .check((ctx) => {
    if (ctx.value.outbox === undefined && ctx.value.inbox === undefined) {
      ctx.issues.push({ code: "custom", input: ctx.value, path: ["outbox"], message: "at least one of outbox and inbox is required" });
    }
  });

/** The parsed EVM adapter configuration. */
export type EvmAdapterConfig = z.output<typeof evmConfigSchema>;

/**
 * Parses an untrusted EVM adapter config (YAML or JSON already parsed). Throws `AdapterError`
 * `INVALID_CONFIG` whose `facts.path` names the first offending field.
 */
export function parseEvmConfig(raw: unknown): EvmAdapterConfig {
  return parseConfigWith(evmConfigSchema, raw);
}
