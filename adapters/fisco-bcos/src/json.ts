/**
 * What the FISCO BCOS JSON-RPC clients (3.x `rpc.ts`, 2.x `rpcV2.ts`) share: the JSON type, readers that
 * turn a node's answer into typed values or a `FiscoError` `RPC_ERROR`, and one JSON-RPC 2.0 call over
 * HTTP(S) with the transport errors mapped to `AdapterError` (`RPC_UNAVAILABLE`, `RPC_TIMEOUT`,
 * `CANCELLED`) and a node's error object to `FiscoError` `RPC_ERROR` with its code in `facts.code`.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { type Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { AdapterError } from "@shandu/adapter-core";
import { FiscoError, fromHex } from "@shandu/proofs";
import { FiscoTransactionError } from "./status.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const bad = (what: string, facts: Record<string, string | number> = {}) =>
  new FiscoError("RPC_ERROR", `FISCO RPC: ${what}`, { facts });

export function obj(v: Json | undefined, what: string): Record<string, Json> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v;
}

export function hexBytes(v: Json | undefined, what: string, len?: number): Uint8Array {
  if (typeof v !== "string") throw bad(`${what} is not hex`, { field: what });
  const h = v.startsWith("0x") || v.startsWith("0X") ? v.slice(2) : v;
  try {
    return fromHex(`0x${h}`, len, what);
  } catch {
    throw bad(`${what} is not ${len ? `${len} bytes of ` : ""}hex`, { field: what });
  }
}

/** A number as JSON number, decimal string or 0x hex string. */
export function integer(v: Json | undefined, what: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v);
  throw bad(`${what} is not an integer`, { field: what });
}

export const str = (v: Json | undefined, what: string): string => {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw bad(`${what} is not a string`, { field: what });
  return v;
};

export const list = (v: Json | undefined, what: string): Json[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${what} is not a list`, { field: what });
  return v;
};

const MAX_RESPONSE_BYTES = 64 << 20;

/** Error codes Node and OpenSSL give when a TLS handshake fails, as opposed to a plain network failure. */
const isTlsFailure = (code: string) => /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$|ECONNRESET$)/.test(code);

/** Where a client sends its calls. */
export interface JsonRpcEndpoint {
  url: string;
  agent: HttpAgent | HttpsAgent;
  timeoutMs: number;
}

function post(ep: JsonRpcEndpoint, body: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const send = ep.url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      ep.url,
      {
        method: "POST",
        agent: ep.agent,
        signal,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(
              new AdapterError("RPC_UNAVAILABLE", "the FISCO node's answer is too large", { facts: { limit: MAX_RESPONSE_BYTES } }),
            );
          } else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** One JSON-RPC 2.0 call with `params` as given; resolves with `result`. */
export async function callJsonRpc(ep: JsonRpcEndpoint, id: number, method: string, params: Json[], signal?: AbortSignal): Promise<Json> {
  const timeout = AbortSignal.timeout(ep.timeoutMs);
  const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
  let res: { status: number; text: string };
  try {
    res = await post(ep, body, signal ? AbortSignal.any([signal, timeout]) : timeout);
  } catch (cause) {
    if (timeout.aborted) {
      throw new AdapterError("RPC_TIMEOUT", `FISCO node did not answer ${method} in time`, {
        cause,
        facts: { url: ep.url, timeoutMs: ep.timeoutMs },
      });
    }
    if (signal?.aborted) throw new AdapterError("CANCELLED", `${method} cancelled`, { cause });
    if (cause instanceof AdapterError) throw cause;
    const code = String((cause as { code?: unknown }).code ?? "");
    if (ep.url.startsWith("https:") && isTlsFailure(code)) {
      throw new AdapterError("RPC_UNAVAILABLE", `TLS with the FISCO node failed for ${method}: check tls.ca, tls.cert and tls.key`, {
        cause,
        facts: { url: ep.url, reason: code },
      });
    }
    throw new AdapterError("RPC_UNAVAILABLE", `FISCO node unreachable for ${method}: is it running at ${ep.url}?`, {
      cause,
      facts: { url: ep.url, reason: code || undefined },
    });
  }
  let json: Json;
  try {
    json = JSON.parse(res.text) as Json;
  } catch (cause) {
    throw new AdapterError("RPC_UNAVAILABLE", `FISCO node answered ${method} with HTTP ${res.status} and no JSON`, {
      cause,
      facts: { url: ep.url, status: res.status },
    });
  }
  const o = obj(json, "response");
  if (o.error !== undefined && o.error !== null) {
    const e = obj(o.error, "error");
    const message = str(e.message, "error.message");
    throw new FiscoError("RPC_ERROR", `FISCO node refused ${method}: ${message}`, {
      facts: { method, code: typeof e.code === "number" ? e.code : String(e.code), rpcMessage: message },
    });
  }
  if (!("result" in o)) throw bad(`${method} answered without a result`, { method });
  return o.result as Json;
}

/**
 * A node's error answer to a transaction (an error object with a numeric code) as
 * `FiscoTransactionError` `TX_REFUSED` with that code as the status; anything else as it is.
 */
export function asRefusal(e: unknown): unknown {
  if (e instanceof FiscoError && e.code === "RPC_ERROR" && typeof e.facts.code === "number") {
    return new FiscoTransactionError("TX_REFUSED", `the FISCO node refused the transaction: ${String(e.facts.rpcMessage)}`, {
      status: e.facts.code,
      facts: { message: String(e.facts.rpcMessage) },
      cause: e,
    });
  }
  return e;
}
