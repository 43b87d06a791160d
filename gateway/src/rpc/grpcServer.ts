/**
 * Serves a {@link GatewayApi} over gRPC (`proto/shandu/gateway/v1/gateway.proto`).
 *
 * Requests are untrusted: `convert.ts` checks every field before the api sees it. Errors the api throws
 * are mapped through `GATEWAY_ERRORS` (see {@link gatewayErrorOf}); the code and facts travel in the
 * trailing metadata. Any other error is reported as INTERNAL with the fixed text "internal error": its
 * message and stack stay in the server's log.
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import type { AttestedBatch, GatewayApi } from "../api.ts";
import { GATEWAY_ERRORS, GatewayError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  ERROR_CODE_METADATA,
  ERROR_FACTS_METADATA,
  factsToJson,
  type GatewayMethod,
  gatewayErrorOf,
  gatewayServiceDefinition,
  getAttestationRequestCodec,
  getAttestationResponseCodec,
  getConsistencyProofRequestCodec,
  getConsistencyProofResponseCodec,
  getInclusionProofRequestCodec,
  getInclusionProofResponseCodec,
  getProofBundleRequestCodec,
  getProofBundleResponseCodec,
  getTreeHeadResponseCodec,
  healthResponseCodec,
  listLanesResponseCodec,
  MAX_GRPC_MESSAGE_BYTES,
  streamAttestedBatchesRequestCodec,
  streamAttestedBatchesResponseCodec,
  submitPartialRequestCodec,
  submitPartialResponseCodec,
} from "./convert.ts";

export interface GrpcServerTls {
  /** PEM certificate chain of the server. */
  certFile: string;
  /** PEM private key of the server. */
  keyFile: string;
  /** PEM CA bundle client certificates must chain to. */
  clientCaFile?: string;
  /** Refuse clients without a valid certificate (mutual TLS). Defaults to true when `clientCaFile` is set. */
  requireClientCert?: boolean;
}

export interface GrpcServerOptions {
  /** `host:port` to listen on; port 0 picks a free port. */
  listen: string;
  /** Without it the server speaks plaintext (local development only). */
  tls?: GrpcServerTls;
  /** Where unexpected errors are logged. Defaults to silent. */
  log?: Logger;
  /** How long `close()` waits for calls in flight before cutting them off. Default 5000 ms. */
  shutdownGraceMs?: number;
}

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Ends open streams with `CLOSED`, lets unary calls in flight finish (up to the grace period), stops. */
  close(): Promise<void>;
}

/**
 * Starts a gRPC server for `api`. Throws `INVALID_REQUEST` for inconsistent TLS options and
 * `UNAVAILABLE` when the address cannot be bound or a TLS file cannot be read.
 */
export async function startGrpcServer(api: GatewayApi, opts: GrpcServerOptions): Promise<RunningServer> {
  const log = opts.log ?? silentLogger;
  const credentials = await serverCredentials(opts.tls);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_GRPC_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_GRPC_MESSAGE_BYTES,
  });
  const streams = new Set<AbortController>();
  let closing = false;

  const toStatus = (method: GatewayMethod, e: unknown): Partial<grpc.StatusObject> => {
    const ge = gatewayErrorOf(e);
    if (ge === undefined) {
      log.error("grpc.internal_error", {
        method,
        error: e instanceof Error ? e.name : typeof e,
        message: e instanceof Error ? e.message : String(e),
        stack: e instanceof Error ? e.stack : undefined,
      });
      return { code: grpc.status.INTERNAL, details: "internal error", metadata: new grpc.Metadata() };
    }
    const metadata = new grpc.Metadata();
    metadata.set(ERROR_CODE_METADATA, ge.code);
    metadata.set(ERROR_FACTS_METADATA, factsToJson(ge.facts));
    return { code: GATEWAY_ERRORS[ge.code].grpc, details: ge.shortMessage, metadata };
  };

  const unary =
    (method: GatewayMethod, handle: (request: unknown) => Promise<object>): grpc.handleUnaryCall<unknown, object> =>
    (call, callback) => {
      Promise.resolve()
        .then(() => handle(call.request))
        .then(
          (response) => callback(null, response),
          (e: unknown) => callback(toStatus(method, e)),
        );
    };

  const serveStream = async (call: grpc.ServerWritableStream<unknown, object>): Promise<void> => {
    const abort = new AbortController();
    const onCancelled = () => abort.abort();
    streams.add(abort);
    call.on("cancelled", onCancelled);
    const aborted = new Promise<never>((_, reject) => {
      abort.signal.addEventListener("abort", () => reject(abort.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    let iterator: AsyncIterator<AttestedBatch> | undefined;
    try {
      if (closing) throw new GatewayError("CLOSED", "the gateway is shutting down");
      const request = streamAttestedBatchesRequestCodec.fromPb(call.request);
      iterator = api.streamAttestedBatches({ ...request, signal: abort.signal })[Symbol.asyncIterator]();
      for (;;) {
        // Racing the abort keeps an implementation that waits without watching the signal from pinning the call.
        const next = await Promise.race([iterator.next(), aborted]);
        if (next.done) break;
        if (!call.write(streamAttestedBatchesResponseCodec.toPb(next.value))) await once(call, "drain", { signal: abort.signal });
      }
      if (closing) throw new GatewayError("CLOSED", "the gateway is shutting down");
      call.end();
    } catch (e) {
      if (call.cancelled) return;
      const reason = closing && abort.signal.aborted ? new GatewayError("CLOSED", "the gateway is shutting down") : e;
      call.emit("error", toStatus("StreamAttestedBatches", reason));
    } finally {
      streams.delete(abort);
      call.off("cancelled", onCancelled);
      if (!abort.signal.aborted) abort.abort();
      iterator?.return?.().catch(() => {});
    }
  };

  const implementation: Record<GatewayMethod, grpc.UntypedHandleCall> = {
    SubmitPartial: unary("SubmitPartial", async (r) =>
      submitPartialResponseCodec.toPb(await api.submitPartial(submitPartialRequestCodec.fromPb(r))),
    ),
    GetAttestation: unary("GetAttestation", async (r) =>
      getAttestationResponseCodec.toPb(await api.getAttestation(getAttestationRequestCodec.fromPb(r))),
    ),
    GetProofBundle: unary("GetProofBundle", async (r) =>
      getProofBundleResponseCodec.toPb(await api.getProofBundle(getProofBundleRequestCodec.fromPb(r))),
    ),
    StreamAttestedBatches: (call: grpc.ServerWritableStream<unknown, object>) => {
      serveStream(call).catch((e: unknown) => log.error("grpc.stream_failed", { message: e instanceof Error ? e.message : String(e) }));
    },
    ListLanes: unary("ListLanes", async () => listLanesResponseCodec.toPb(await api.listLanes())),
    GetTreeHead: unary("GetTreeHead", async () => getTreeHeadResponseCodec.toPb(await api.treeHead())),
    GetInclusionProof: unary("GetInclusionProof", async (r) => {
      const { index, treeSize } = getInclusionProofRequestCodec.fromPb(r);
      return getInclusionProofResponseCodec.toPb(await api.inclusionProof(index, treeSize));
    }),
    GetConsistencyProof: unary("GetConsistencyProof", async (r) => {
      const { fromSize, toSize } = getConsistencyProofRequestCodec.fromPb(r);
      return getConsistencyProofResponseCodec.toPb(await api.consistencyProof(fromSize, toSize));
    }),
    Health: unary("Health", async () => healthResponseCodec.toPb(await api.health())),
  };
  server.addService(gatewayServiceDefinition(), implementation);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, credentials, (error, boundPort) => {
      if (error) {
        reject(new GatewayError("UNAVAILABLE", "cannot listen for gRPC", { facts: { listen: opts.listen }, cause: error }));
      } else resolve(boundPort);
    });
  });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      for (const s of streams) s.abort();
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, opts.shutdownGraceMs ?? 5000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closed;
  };
  return { port, close };
}

async function serverCredentials(tls: GrpcServerTls | undefined): Promise<grpc.ServerCredentials> {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  const requireClientCert = tls.requireClientCert ?? tls.clientCaFile !== undefined;
  if (requireClientCert && tls.clientCaFile === undefined) {
    throw new GatewayError("INVALID_REQUEST", "requireClientCert needs clientCaFile", { facts: { field: "tls.clientCaFile" } });
  }
  const read = async (file: string, field: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (cause) {
      throw new GatewayError("UNAVAILABLE", "cannot read a TLS file", { facts: { field, file }, cause });
    }
  };
  const [cert, key, ca] = await Promise.all([
    read(tls.certFile, "tls.certFile"),
    read(tls.keyFile, "tls.keyFile"),
    tls.clientCaFile === undefined ? null : read(tls.clientCaFile, "tls.clientCaFile"),
  ]);
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], requireClientCert);
}
