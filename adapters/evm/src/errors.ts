/**
 * Turning what ethers and the node throw into `AdapterError`s: transport failures into `RPC_*`
 * (retryable), a refused payment into `INSUFFICIENT_FUNDS`, and the Shandu contracts' reverts
 * (`ShanduRejected(code)`, `ShanduRotationNotAttested(reason)`) into `DELIVERY_REJECTED` with the
 * protocol's code as `facts.reason` — or `LANE_PAUSED`, which is not a refusal of the delivery itself.
 */
import { AdapterError, deliveryRejected } from "@shandu/adapter-core";
import { codeFromBytes32 } from "@shandu/deploy";
import { type ErrorFacts, ShanduError } from "@shandu/proofs";
import { isError } from "ethers";
import { inboxAbi } from "./abi.ts";

/** Node.js socket and DNS errors that mean the endpoint could not be reached. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

/** What went wrong with a request, as far as the adapter cares. */
export type RpcFailure =
  /** The node could not be reached, or answered with a transport or server error: try again later. */
  | "unavailable"
  | "timeout"
  /** The call or transaction reverted (`revertData` may say why). */
  | "revert"
  | "insufficient-funds"
  /** The transaction's nonce was used already. */
  | "nonce"
  /** The node already has this exact transaction. */
  | "known"
  /** Anything else: a bug or a request the node refuses for good. */
  | "other";

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Classifies an error thrown by an ethers provider call or by the transport under it. */
export function classifyRpcError(err: unknown): RpcFailure {
  if (isError(err, "CALL_EXCEPTION")) return "revert";
  if (isError(err, "INSUFFICIENT_FUNDS")) return "insufficient-funds";
  if (isError(err, "NONCE_EXPIRED")) return "nonce";
  if (isError(err, "TIMEOUT")) return "timeout";
  const code = codeOf(err);
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return "timeout";
  if (code !== undefined && UNREACHABLE.has(code)) return "unavailable";
  if (isError(err, "NETWORK_ERROR") || isError(err, "SERVER_ERROR") || isError(err, "BAD_DATA")) return "unavailable";
  const text = messageOf(err).toLowerCase();
  if (/already known|known transaction|already imported/.test(text)) return "known";
  if (/nonce too low|nonce has already been used/.test(text)) return "nonce";
  if (/insufficient funds/.test(text)) return "insufficient-funds";
  if (isError(err, "UNKNOWN_ERROR")) {
    // A JSON-RPC error the node returned: rate limits and internal errors pass; treat as transient.
    return "unavailable";
  }
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause !== undefined && cause !== err) {
    const inner = classifyRpcError(cause);
    if (inner !== "other") return inner;
  }
  return "other";
}

/** Whether a request that failed so is worth repeating. */
export function isTransient(failure: RpcFailure): boolean {
  return failure === "unavailable" || failure === "timeout";
}

/** The revert data (0x…) carried by a call exception, wherever ethers and the node put it. */
export function revertData(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const o = current as { data?: unknown; info?: { error?: { data?: unknown } }; error?: { data?: unknown }; cause?: unknown };
    for (const d of [o.data, o.info?.error?.data, o.error?.data]) {
      if (typeof d === "string" && /^0x[0-9a-fA-F]*$/.test(d) && d.length >= 10) return d;
      if (d && typeof d === "object" && typeof (d as { data?: unknown }).data === "string") return (d as { data: string }).data;
    }
    current = o.error ?? o.cause;
  }
  return undefined;
}

/** A Shandu contract's refusal: which error, and the protocol code inside it. */
export interface ShanduRevert {
  error: "ShanduRejected" | "ShanduRotationNotAttested";
  code: string;
}

/** Decodes `ShanduRejected(code)` or `ShanduRotationNotAttested(reason)` from revert data, else `null`. */
export function decodeShanduRevert(data: string | undefined): ShanduRevert | null {
  if (!data) return null;
  let parsed: ReturnType<typeof inboxAbi.parseError>;
  try {
    parsed = inboxAbi.parseError(data);
  } catch {
    return null;
  }
  if (!parsed || (parsed.name !== "ShanduRejected" && parsed.name !== "ShanduRotationNotAttested")) return null;
  return { error: parsed.name, code: codeFromBytes32(parsed.args[0] as string) };
}

/**
 * The `AdapterError` for a refusal by the inbox: `LANE_PAUSED` for a paused lane, otherwise
 * `DELIVERY_REJECTED` with `facts.reason` the contract's code (`ROTATION_NOT_ATTESTED` with
 * `facts.detail` the attestation code for a rotation). A revert that is not a Shandu error is refused
 * with reason `REVERTED` and its raw data in the facts.
 */
export function rejectionFromRevert(err: unknown, what: string, facts: ErrorFacts = {}): AdapterError {
  const data = revertData(err);
  const r = decodeShanduRevert(data);
  if (r === null) {
    return deliveryRejected("REVERTED", `${what}: the inbox reverted without a Shandu error`, {
      facts: { ...facts, data: data ?? null },
      cause: err,
    });
  }
  if (r.error === "ShanduRotationNotAttested") {
    return deliveryRejected("ROTATION_NOT_ATTESTED", `${what}: the rotation's attestation failed (${r.code})`, {
      facts: { ...facts, detail: r.code },
      cause: err,
    });
  }
  if (r.code === "LANE_PAUSED") {
    return new AdapterError("LANE_PAUSED", `${what}: the lane is paused at the destination`, { facts, cause: err });
  }
  return deliveryRejected(r.code, `${what}: refused by the inbox (${r.code})`, { facts, cause: err });
}

/**
 * The `AdapterError` for a failed request: passes an `AdapterError` through, otherwise `RPC_TIMEOUT`,
 * `INSUFFICIENT_FUNDS`, or `RPC_UNAVAILABLE` for every other failure (the node's word cannot be had).
 */
export function toAdapterError(err: unknown, what: string, facts: ErrorFacts = {}): AdapterError {
  if (err instanceof AdapterError) return err;
  const failure = classifyRpcError(err);
  if (failure === "timeout") return new AdapterError("RPC_TIMEOUT", `${what}: the node did not answer in time`, { facts, cause: err });
  if (failure === "insufficient-funds") {
    return new AdapterError("INSUFFICIENT_FUNDS", `${what}: the delivery account cannot pay for the transaction`, { facts, cause: err });
  }
  const detail = codeOf(err) ?? failure;
  return new AdapterError("RPC_UNAVAILABLE", `${what}: the node could not be used (${detail})`, { facts, cause: err });
}

/**
 * What a public adapter method lets out: Shandu errors (`AdapterError`, or an `EvidenceError` from the
 * evidence builder) unchanged; errors of ethers or of the transport as {@link toAdapterError}; anything
 * else — a bug, not a condition of the node — unchanged too.
 */
export function asAdapterError(err: unknown, what: string): unknown {
  if (err instanceof ShanduError) return err;
  if (typeof codeOf(err) === "string") return toAdapterError(err, what);
  return err;
}
