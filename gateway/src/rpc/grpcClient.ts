/**
 * A {@link GatewayApi} over gRPC, for attesters, relayers and tools.
 *
 * Server errors come back as {@link GatewayError} with the code and facts the server sent (facts that
 * were bigints arrive as decimal strings). A failure with no gateway code — connection refused, TLS
 * handshake refused, deadline exceeded, an INTERNAL server error — is `UNAVAILABLE` with
 * `facts.grpcStatus` naming the gRPC status. Responses are checked like requests: a malformed one throws
 * `INVALID_REQUEST` naming the field. Nothing the gateway returns is trusted beyond its shape; callers
 * verify attestations and bundles themselves.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { AttestedBatch, GatewayApi } from "../api.ts";
import { GatewayError } from "../errors.ts";
import {
  ERROR_CODE_METADATA,
  ERROR_FACTS_METADATA,
  factsFromJson,
  type GatewayMethod,
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
  isGatewayErrorCode,
  listLanesResponseCodec,
  MAX_GRPC_MESSAGE_BYTES,
  streamAttestedBatchesRequestCodec,
  streamAttestedBatchesResponseCodec,
  submitPartialRequestCodec,
  submitPartialResponseCodec,
} from "./convert.ts";

export interface GatewayClientOptions {
  /** `host:port` of the gateway (any gRPC target string). */
  address: string;
  /** Without it the client speaks plaintext. `certFile` and `keyFile` (PEM) enable mutual TLS. */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** Deadline of each unary call. Default 30000 ms. Streams have none. */
  deadlineMs?: number;
}

export interface GatewayClient extends GatewayApi {
  /** Closes the channel; calls in flight fail with `UNAVAILABLE`. */
  close(): Promise<void>;
}

const DEFAULT_DEADLINE_MS = 30_000;

/**
 * A client for the gateway at `opts.address`. Connects lazily, on the first call. Reads the TLS files
 * now: throws `UNAVAILABLE` when one cannot be read and `INVALID_REQUEST` for a cert without a key.
 */
export function connectGateway(opts: GatewayClientOptions): GatewayClient {
  const service = gatewayServiceDefinition();
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const client = new grpc.Client(opts.address, channelCredentials(opts.tls), {
    "grpc.max_receive_message_length": MAX_GRPC_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_GRPC_MESSAGE_BYTES,
  });

  const unary = <T>(method: GatewayMethod, request: object, decode: (response: unknown) => T): Promise<T> => {
    const def = service[method];
    return new Promise<T>((resolve, reject) => {
      client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (error) return reject(fromServiceError(error));
          try {
            resolve(decode(response));
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  };

  async function* streamAttestedBatches(opts: {
    fromLogIndex: bigint;
    destinationChainId?: bigint;
    signal: AbortSignal;
  }): AsyncGenerator<AttestedBatch> {
    if (opts.signal.aborted) return;
    const def = service.StreamAttestedBatches;
    const request = streamAttestedBatchesRequestCodec.toPb(opts);
    const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new grpc.Metadata(), {});
    const onAbort = () => call.cancel();
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const response of call) yield streamAttestedBatchesResponseCodec.fromPb(response);
    } catch (e) {
      if (opts.signal.aborted) return;
      throw fromServiceError(e);
    } finally {
      opts.signal.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  return {
    submitPartial: (req) => unary("SubmitPartial", submitPartialRequestCodec.toPb(req), submitPartialResponseCodec.fromPb),
    getAttestation: (ref) => unary("GetAttestation", getAttestationRequestCodec.toPb(ref), getAttestationResponseCodec.fromPb),
    getProofBundle: (ref) => unary("GetProofBundle", getProofBundleRequestCodec.toPb(ref), getProofBundleResponseCodec.fromPb),
    streamAttestedBatches,
    listLanes: () => unary("ListLanes", {}, listLanesResponseCodec.fromPb),
    treeHead: () => unary("GetTreeHead", {}, getTreeHeadResponseCodec.fromPb),
    inclusionProof: (index, treeSize) =>
      unary("GetInclusionProof", getInclusionProofRequestCodec.toPb({ index, treeSize }), getInclusionProofResponseCodec.fromPb),
    consistencyProof: (fromSize, toSize) =>
      unary("GetConsistencyProof", getConsistencyProofRequestCodec.toPb({ fromSize, toSize }), getConsistencyProofResponseCodec.fromPb),
    health: () => unary("Health", {}, healthResponseCodec.fromPb),
    close: async () => client.close(),
  };
}

/** The gateway error of a failed call: the server's code and facts, or `UNAVAILABLE`. */
export function fromServiceError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  const se = (typeof e === "object" && e !== null ? e : {}) as Partial<grpc.ServiceError>;
  const details = typeof se.details === "string" ? se.details : e instanceof Error ? e.message : String(e);
  const code = se.metadata?.get(ERROR_CODE_METADATA)[0];
  if (isGatewayErrorCode(code)) {
    return new GatewayError(code, details, { facts: factsFromJson(se.metadata?.get(ERROR_FACTS_METADATA)[0]), cause: e });
  }
  const grpcStatus = typeof se.code === "number" ? (grpc.status[se.code] ?? String(se.code)) : "UNKNOWN";
  return new GatewayError("UNAVAILABLE", `gateway call failed: ${details}`, { facts: { grpcStatus }, cause: e });
}

function channelCredentials(tls: GatewayClientOptions["tls"]): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new GatewayError("INVALID_REQUEST", "a client certificate needs both certFile and keyFile", {
      facts: { field: tls.certFile === undefined ? "tls.certFile" : "tls.keyFile" },
    });
  }
  const read = (file: string, field: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new GatewayError("UNAVAILABLE", "cannot read a TLS file", { facts: { field, file }, cause });
    }
  };
  return grpc.credentials.createSsl(
    read(tls.caFile, "tls.caFile"),
    tls.keyFile === undefined ? null : read(tls.keyFile, "tls.keyFile"),
    tls.certFile === undefined ? null : read(tls.certFile, "tls.certFile"),
  );
}
