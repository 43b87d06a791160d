/**
 * A read-only HTTP/JSON view of a {@link GatewayApi}, for auditors, dashboards and probes:
 *
 * | route                                                  | body                                   |
 * | ------------------------------------------------------ | -------------------------------------- |
 * | `GET /v1/lanes`                                        | `{ lanes: [...] }`                     |
 * | `GET /v1/lanes/{src}/{dst}/messages/{nonce}/bundle`    | the proof bundle JSON                  |
 * | `GET /v1/lanes/{src}/{dst}/batches/{first}/{last}`     | the attested-batch JSON (`wire.ts`)    |
 * | `GET /v1/log/head`                                     | the signed tree head                   |
 * | `GET /v1/log/inclusion?index=&treeSize=`               | `{ index, treeSize, leaf, path }`      |
 * | `GET /v1/log/consistency?from=&to=`                    | `{ from, to, proof }`                  |
 * | `GET /healthz`                                         | health, 200 when ok else 503           |
 * | `GET /metrics`                                         | Prometheus text (when metrics are set) |
 *
 * Bytes are `0x` hex, u64 quantities decimal strings. Errors are `{ "error": { code, message, facts } }`
 * with the HTTP status of `GATEWAY_ERRORS`; unknown routes are 404 `NO_ROUTE`, other methods than GET
 * 405 `METHOD_NOT_ALLOWED`, unexpected errors 500 `INTERNAL` without details.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { toHex, U64_MAX } from "@shandu/proofs";
import type { GatewayApi } from "../api.ts";
import { GATEWAY_ERRORS, GatewayError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import { METRICS_CONTENT_TYPE } from "../metrics.ts";
import { attestedBatchToJson } from "../wire.ts";
import { factsToPlain, gatewayErrorOf } from "./convert.ts";
import type { RunningServer } from "./grpcServer.ts";

export interface HttpServerOptions {
  /** `host:port` to listen on (`[::1]:8080` for IPv6); port 0 picks a free port. */
  listen: string;
  /** Renders `/metrics`; without it `/metrics` is 404. */
  metrics?: () => Promise<string>;
  /** Where unexpected errors are logged. Defaults to silent. */
  log?: Logger;
}

interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

type Route = (params: string[], query: URLSearchParams) => Promise<Reply>;

const JSON_TYPE = "application/json; charset=utf-8";
const U64_DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

function u64Param(v: string | null | undefined, field: string): bigint {
  if (v === null || v === undefined || !U64_DECIMAL.test(v) || BigInt(v) > U64_MAX) {
    throw new GatewayError("INVALID_REQUEST", `${field}: expected a uint64 in decimal`, { facts: { field } });
  }
  return BigInt(v);
}

function json(body: unknown, status = 200): Reply {
  return { status, body: JSON.stringify(body) };
}

function errorReply(
  status: number,
  code: string,
  message: string,
  facts: Record<string, unknown> = {},
  headers?: Record<string, string>,
): Reply {
  return { status, body: JSON.stringify({ error: { code, message, facts } }), ...(headers ? { headers } : {}) };
}

/** Parses `host:port`, `[v6]:port` or `:port`. Throws `INVALID_REQUEST`. */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new GatewayError("INVALID_REQUEST", "listen must be host:port", { facts: { field: "listen", listen } });
  }
  const host = m[1] ?? m[2];
  return { host: host === "" ? undefined : host, port };
}

/**
 * Starts the HTTP server. Throws `INVALID_REQUEST` for a malformed `listen` and `UNAVAILABLE` when the
 * address cannot be bound.
 */
export async function startHttpServer(api: GatewayApi, opts: HttpServerOptions): Promise<RunningServer> {
  const log = opts.log ?? silentLogger;
  const { host, port } = parseListen(opts.listen);
  const { metrics } = opts;

  const routes: [RegExp, Route][] = [
    [
      /^\/v1\/lanes$/,
      async () =>
        json({
          lanes: (await api.listLanes()).map((l) => ({
            sourceChainId: l.sourceChainId.toString(),
            destinationChainId: l.destinationChainId.toString(),
            lastAttestedNonce: l.lastAttestedNonce === null ? null : l.lastAttestedNonce.toString(),
            attestedBatches: l.attestedBatches,
            pendingBatches: l.pendingBatches,
            terminated: l.terminated,
          })),
        }),
    ],
    [
      /^\/v1\/lanes\/([^/]+)\/([^/]+)\/messages\/([^/]+)\/bundle$/,
      async ([src, dst, nonce]) =>
        json(
          await api.getProofBundle({
            sourceChainId: u64Param(src, "sourceChainId"),
            destinationChainId: u64Param(dst, "destinationChainId"),
            nonce: u64Param(nonce, "nonce"),
          }),
        ),
    ],
    [
      /^\/v1\/lanes\/([^/]+)\/([^/]+)\/batches\/([^/]+)\/([^/]+)$/,
      async ([src, dst, first, last]) =>
        json(
          attestedBatchToJson(
            await api.getAttestation({
              sourceChainId: u64Param(src, "sourceChainId"),
              destinationChainId: u64Param(dst, "destinationChainId"),
              firstNonce: u64Param(first, "firstNonce"),
              lastNonce: u64Param(last, "lastNonce"),
            }),
          ),
        ),
    ],
    [
      /^\/v1\/log\/head$/,
      async () => {
        const h = await api.treeHead();
        return json({
          treeSize: h.treeSize.toString(),
          rootHash: toHex(h.rootHash),
          timestampMs: h.timestampMs.toString(),
          signature: toHex(h.signature),
          publicKey: toHex(h.publicKey),
        });
      },
    ],
    [
      /^\/v1\/log\/inclusion$/,
      async (_, q) => {
        const index = u64Param(q.get("index"), "index");
        const treeSize = u64Param(q.get("treeSize"), "treeSize");
        const p = await api.inclusionProof(index, treeSize);
        return json({ index: index.toString(), treeSize: treeSize.toString(), leaf: toHex(p.leaf), path: p.path.map(toHex) });
      },
    ],
    [
      /^\/v1\/log\/consistency$/,
      async (_, q) => {
        const from = u64Param(q.get("from"), "from");
        const to = u64Param(q.get("to"), "to");
        const proof = await api.consistencyProof(from, to);
        return json({ from: from.toString(), to: to.toString(), proof: proof.map(toHex) });
      },
    ],
    [
      /^\/healthz$/,
      async () => {
        const h = await api.health();
        return json(h, h.ok ? 200 : 503);
      },
    ],
  ];
  if (metrics) routes.push([/^\/metrics$/, async () => ({ status: 200, body: await metrics(), contentType: METRICS_CONTENT_TYPE })]);

  const handle = async (req: IncomingMessage): Promise<Reply> => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://gateway.invalid");
    } catch {
      return errorReply(400, "INVALID_REQUEST", "malformed request target", { field: "url" });
    }
    for (const [pattern, route] of routes) {
      const m = pattern.exec(url.pathname);
      if (!m) continue;
      if (req.method !== "GET") {
        return errorReply(405, "METHOD_NOT_ALLOWED", "only GET is allowed", { method: req.method ?? null }, { allow: "GET" });
      }
      try {
        return await route(m.slice(1), url.searchParams);
      } catch (e) {
        const ge = gatewayErrorOf(e);
        if (ge !== undefined) return errorReply(GATEWAY_ERRORS[ge.code].http, ge.code, ge.shortMessage, factsToPlain(ge.facts));
        log.error("http.internal_error", {
          path: url.pathname,
          error: e instanceof Error ? e.name : typeof e,
          message: e instanceof Error ? e.message : String(e),
          stack: e instanceof Error ? e.stack : undefined,
        });
        return errorReply(500, "INTERNAL", "internal error");
      }
    }
    return errorReply(404, "NO_ROUTE", "no such route", { path: url.pathname });
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    res.writeHead(reply.status, {
      "content-type": reply.contentType ?? JSON_TYPE,
      "content-length": Buffer.byteLength(reply.body),
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...reply.headers,
    });
    res.end(reply.body);
  };

  const server = createServer((req, res) => {
    handle(req).then(
      (reply) => send(res, reply),
      (e: unknown) => {
        log.error("http.send_failed", { message: e instanceof Error ? e.message : String(e) });
        if (!res.headersSent) send(res, errorReply(500, "INTERNAL", "internal error"));
        else res.destroy();
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (cause: Error) =>
      reject(new GatewayError("UNAVAILABLE", "cannot listen for HTTP", { facts: { listen: opts.listen }, cause }));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === "object" && address !== null ? address.port : port;

  let closed: Promise<void> | undefined;
  return {
    port: boundPort,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), 5000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
