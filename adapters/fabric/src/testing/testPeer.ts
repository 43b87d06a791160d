/**
 * `FabricTestPeer` — a TEST DOUBLE of a Hyperledger Fabric gateway peer, not a Fabric peer. It serves the
 * real `gateway.Gateway` gRPC service (Endorse, Submit, CommitStatus, Evaluate, ChaincodeEvents) with
 * the service definition and message classes of `@hyperledger/fabric-protos`, so the real
 * `@hyperledger/fabric-gateway` client talks to it unchanged. Plaintext gRPC on 127.0.0.1 only.
 *
 * What it models faithfully: the proposal signature is checked against the creator certificate in the
 * signature header (low-S DER ECDSA P-256 over SHA-256), the creator must be issued by a CA of its MSP,
 * and the transaction id must be SHA-256(nonce ‖ creator); endorsements are real
 * (`ProposalResponsePayload` with the proposal hash and a `ChaincodeAction` holding the KV read-write set,
 * the chaincode event, the response and the chaincode id, signed by each test peer over
 * `payload ‖ endorser`); Submit checks the envelope signature, orders the transaction into a block of its
 * own (with `TRANSACTIONS_FILTER` metadata and hash-chained headers) and validates it (VALID,
 * `MVCC_READ_CONFLICT` for a stale read, `DUPLICATE_TXID`); CommitStatus waits for the commit;
 * ChaincodeEvents streams the events of VALID transactions from a start block and after a checkpoint
 * transaction. The query system chaincode `qscc` answers `GetChainInfo`, `GetBlockByNumber`,
 * `GetTransactionByID` and `GetBlockByTxID` as a peer does. The peer's `protos.Deliver` service
 * (`Deliver`, `DeliverFiltered`) takes signed `DELIVER_SEEK_INFO` envelopes on one bidirectional stream,
 * one after another, and answers each as Fabric's deliver handler does: the blocks (or filtered blocks,
 * whose chaincode events carry no payload) from the start position to the stop position, waiting for
 * new blocks under `BLOCK_UNTIL_READY`, then a `SUCCESS` status; a refusal is a status response, never a
 * gRPC error (`BAD_REQUEST`, `NOT_FOUND` for another channel or a missing block under
 * `FAIL_IF_NOT_READY`, `FORBIDDEN` for a bad signature or a creator outside the channel's MSPs).
 *
 * What it leaves out: ordering service, gossip, endorsement policies (every configured peer endorses),
 * private data (`DeliverWithPrivateData` is unimplemented), config transactions (block 0 is an empty
 * stand-in for the genesis config block), certificate expiry of deliver sessions, TLS.
 *
 * The chaincode is pluggable: a {@link ChaincodeRunner} per chaincode name runs one invocation against
 * the committed world state and returns its response, its event and its writes.
 */
import { createHash, X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { common, gateway, google, ledger, msp, orderer, peer } from "@hyperledger/fabric-protos";
import { signP256, verifyP256 } from "./ecdsa.ts";
import type { FabricTestIdentity } from "./identities.ts";

/** One chaincode invocation, as a runner sees it. */
export interface ChaincodeInvocation {
  channel: string;
  chaincode: string;
  /** The function name as the client sent it, e.g. `ShanduInbox:deliver`. */
  fn: string;
  args: Uint8Array[];
  /** 64 lower-case hex digits. */
  txId: string;
  /** The proposal timestamp the client set. */
  timestamp: { seconds: bigint; nanos: number };
  creator: { mspId: string; certificatePem: string };
  /** The committed value of `key` in this chaincode's namespace (reads are recorded for MVCC checks). */
  getState(key: string): Uint8Array | undefined;
}

/** What a chaincode answered. A status of 400 or more is a refusal: nothing is endorsed. */
export interface ChaincodeResult {
  status: number;
  message?: string;
  payload: Uint8Array;
  event?: { name: string; payload: Uint8Array };
  /** Writes to the namespace; `null` deletes. */
  writes: ReadonlyArray<{ key: string; value: Uint8Array | null }>;
}

export type ChaincodeRunner = (invocation: ChaincodeInvocation) => ChaincodeResult | Promise<ChaincodeResult>;

export interface FabricTestPeerOptions {
  channel: string;
  /** Runners by chaincode name. */
  chaincodes: Record<string, ChaincodeRunner>;
  /** The peers that endorse every transaction (one per MSP is typical). */
  endorsers: FabricTestIdentity[];
  /** Trusted CA certificates (PEM) by MSP id: clients must hold a certificate one of them issued. */
  msps: Record<string, string[]>;
  /** Chaincode version written into `ChaincodeID` (default "1.0"). */
  chaincodeVersion?: string;
}

/** A committed transaction as the test peer keeps it. */
export interface CommittedTransaction {
  txId: string;
  blockNumber: bigint;
  validationCode: number;
  envelope: common.Envelope;
  chaincode: string;
  event: peer.ChaincodeEvent | undefined;
}

const VALID = peer.TxValidationCode.VALID;
const enc = new TextEncoder();
const dec = new TextDecoder();
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return Uint8Array.from(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** ASN.1 DER of Fabric's block header hash input: SEQUENCE { INTEGER number, OCTET STRING prev, OCTET STRING data }. */
function blockHeaderHash(h: common.BlockHeader): Uint8Array {
  const len = (n: number) => (n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
  const tlv = (tag: number, body: Uint8Array) => Uint8Array.from([tag, ...len(body.length), ...body]);
  let nhex = BigInt(h.getNumber()).toString(16);
  if (nhex.length % 2) nhex = `0${nhex}`;
  let n = Uint8Array.from(Buffer.from(nhex, "hex"));
  if ((n[0] ?? 0) & 0x80) n = Uint8Array.from([0, ...n]);
  const body = Uint8Array.from([...tlv(0x02, n), ...tlv(0x04, h.getPreviousHash_asU8()), ...tlv(0x04, h.getDataHash_asU8())]);
  return sha256(tlv(0x30, body));
}

/** A gRPC error the way Fabric's gateway returns one, with `gateway.ErrorDetail`s in the status details. */
function gatewayError(code: grpc.status, message: string, details: { mspId: string; message: string }[] = []): grpc.ServiceError {
  const status = new google.rpc.Status();
  status.setCode(code);
  status.setMessage(message);
  for (const d of details) {
    const detail = new gateway.ErrorDetail();
    detail.setAddress("127.0.0.1");
    detail.setMspId(d.mspId);
    detail.setMessage(d.message);
    const any = status.addDetails();
    any.setTypeUrl("type.googleapis.com/gateway.ErrorDetail");
    any.setValue(detail.serializeBinary());
  }
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(status.serializeBinary()));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

class Refusal extends Error {
  readonly code: grpc.status;
  readonly details: { mspId: string; message: string }[];
  constructor(code: grpc.status, message: string, details: { mspId: string; message: string }[] = []) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

interface Versioned {
  value: Uint8Array;
  block: bigint;
  tx: bigint;
}

interface DecodedProposal {
  proposal: peer.Proposal;
  channelHeader: common.ChannelHeader;
  signatureHeader: common.SignatureHeader;
  creator: { mspId: string; certificatePem: string };
  chaincode: string;
  fn: string;
  args: Uint8Array[];
}

export class FabricTestPeer {
  readonly options: FabricTestPeerOptions;
  readonly #server = new grpc.Server();
  #port = 0;
  readonly blocks: common.Block[] = [];
  readonly transactions = new Map<string, CommittedTransaction>();
  /** World state by chaincode namespace. */
  readonly #state = new Map<string, Map<string, Versioned>>();
  readonly #commits = new EventEmitter();
  #closed = false;

  private constructor(options: FabricTestPeerOptions) {
    this.options = options;
    this.#commits.setMaxListeners(0);
    const genesis = new common.Block();
    const header = new common.BlockHeader();
    header.setNumber(0);
    header.setDataHash(sha256());
    genesis.setHeader(header);
    genesis.setData(new common.BlockData());
    const meta = new common.BlockMetadata();
    meta.setMetadataList([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
    genesis.setMetadata(meta);
    this.blocks.push(genesis);
  }

  /** Starts a test peer on 127.0.0.1 and a free port (plaintext gRPC). */
  static async start(options: FabricTestPeerOptions): Promise<FabricTestPeer> {
    const p = new FabricTestPeer(options);
    p.#server.addService(gateway.GatewayService, {
      endorse: (
        call: grpc.ServerUnaryCall<gateway.EndorseRequest, gateway.EndorseResponse>,
        cb: grpc.sendUnaryData<gateway.EndorseResponse>,
      ) => p.#unary(() => p.#endorse(call.request), cb),
      submit: (call: grpc.ServerUnaryCall<gateway.SubmitRequest, gateway.SubmitResponse>, cb: grpc.sendUnaryData<gateway.SubmitResponse>) =>
        p.#unary(() => p.#submit(call.request), cb),
      commitStatus: (
        call: grpc.ServerUnaryCall<gateway.SignedCommitStatusRequest, gateway.CommitStatusResponse>,
        cb: grpc.sendUnaryData<gateway.CommitStatusResponse>,
      ) => p.#unary(() => p.#commitStatus(call), cb),
      evaluate: (
        call: grpc.ServerUnaryCall<gateway.EvaluateRequest, gateway.EvaluateResponse>,
        cb: grpc.sendUnaryData<gateway.EvaluateResponse>,
      ) => p.#unary(() => p.#evaluate(call.request), cb),
      chaincodeEvents: (call: grpc.ServerWritableStream<gateway.SignedChaincodeEventsRequest, gateway.ChaincodeEventsResponse>) => {
        p.#chaincodeEvents(call).catch((e: unknown) => {
          if (e instanceof Refusal) call.destroy(gatewayError(e.code, e.message, e.details));
          else call.destroy(gatewayError(grpc.status.INTERNAL, String(e)));
        });
      },
    });
    const deliver = (filtered: boolean) => (call: grpc.ServerDuplexStream<common.Envelope, peer.DeliverResponse>) => {
      p.#deliver(call, filtered).catch((e: unknown) => call.destroy(gatewayError(grpc.status.INTERNAL, String(e))));
    };
    const unimplemented = (call: grpc.ServerDuplexStream<common.Envelope, peer.DeliverResponse>) =>
      call.destroy(gatewayError(grpc.status.UNIMPLEMENTED, "the test peer has no private data"));
    p.#server.addService(peer.DeliverService, {
      deliver: deliver(false),
      deliverFiltered: deliver(true),
      deliverWithPrivateData: unimplemented,
    });
    p.#port = await new Promise<number>((resolve, reject) =>
      p.#server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return p;
  }

  /** `host:port` to dial. */
  get endpoint(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Number of blocks (the next block's number). */
  get height(): bigint {
    return BigInt(this.blocks.length);
  }

  /** The committed value of `key` in `chaincode`'s namespace (what a test reads to see world state). */
  committedState(chaincode: string, key: string): Uint8Array | undefined {
    return this.#state.get(chaincode)?.get(key)?.value;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#commits.emit("close");
    this.#server.forceShutdown();
  }

  async #unary<T>(f: () => Promise<T> | T, cb: grpc.sendUnaryData<T>): Promise<void> {
    try {
      cb(null, await f());
    } catch (e) {
      if (e instanceof Refusal) cb(gatewayError(e.code, e.message, e.details));
      else cb(gatewayError(grpc.status.INTERNAL, e instanceof Error ? e.message : String(e)));
    }
  }

  // --- identities and signatures -------------------------------------------------------------------------

  /** The certificate of a serialized identity, checked against the MSP's CAs. */
  #identity(serialized: Uint8Array, code: grpc.status): { mspId: string; certificatePem: string } {
    let id: msp.SerializedIdentity;
    try {
      id = msp.SerializedIdentity.deserializeBinary(serialized);
    } catch {
      throw new Refusal(code, "access denied: the creator is not a SerializedIdentity");
    }
    const mspId = id.getMspid();
    const certificatePem = dec.decode(id.getIdBytes_asU8());
    const cas = this.options.msps[mspId];
    if (!cas)
      throw new Refusal(code, `access denied: creator org unknown, creator is malformed (MSP ${mspId} is not a member of the channel)`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificatePem);
    } catch {
      throw new Refusal(code, "access denied: the creator certificate does not parse");
    }
    if (!cas.some((ca) => cert.verify(new X509Certificate(ca).publicKey))) {
      throw new Refusal(code, `access denied: the creator certificate is not issued by a CA of ${mspId}`);
    }
    return { mspId, certificatePem };
  }

  #decodeProposal(signed: peer.SignedProposal | undefined, expectedChannel?: string): DecodedProposal {
    const denied = (why: string) => new Refusal(grpc.status.ABORTED, why);
    if (!signed) throw new Refusal(grpc.status.INVALID_ARGUMENT, "a signed proposal is required");
    const proposalBytes = signed.getProposalBytes_asU8();
    const proposal = peer.Proposal.deserializeBinary(proposalBytes);
    const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
    const creator = this.#identity(signatureHeader.getCreator_asU8(), grpc.status.ABORTED);
    if (!verifyP256(creator.certificatePem, proposalBytes, signed.getSignature_asU8())) {
      throw denied(
        `access denied: channel [${channelHeader.getChannelId()}] creator org [${creator.mspId}]: the proposal signature is not valid`,
      );
    }
    const txId = hex(sha256(signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()));
    if (channelHeader.getTxId() !== txId)
      throw denied(`incorrectly computed transaction ID: expected ${txId}, got ${channelHeader.getTxId()}`);
    if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) throw denied("invalid header type");
    if (
      channelHeader.getChannelId() !== this.options.channel ||
      (expectedChannel !== undefined && expectedChannel !== this.options.channel)
    ) {
      throw new Refusal(grpc.status.NOT_FOUND, `channel ${channelHeader.getChannelId()} not found`);
    }
    const payload = peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
    const spec = peer.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8()).getChaincodeSpec();
    const input = spec?.getInput()?.getArgsList_asU8() ?? [];
    return {
      proposal,
      channelHeader,
      signatureHeader,
      creator,
      chaincode: spec?.getChaincodeId()?.getName() ?? "",
      fn: dec.decode(input[0] ?? new Uint8Array(0)),
      args: input.slice(1),
    };
  }

  // --- execution -----------------------------------------------------------------------------------------

  async #run(p: DecodedProposal): Promise<{ result: ChaincodeResult; reads: Map<string, Versioned | undefined> }> {
    const reads = new Map<string, Versioned | undefined>();
    const ts = p.channelHeader.getTimestamp();
    const invocation: ChaincodeInvocation = {
      channel: this.options.channel,
      chaincode: p.chaincode,
      fn: p.fn,
      args: p.args,
      txId: p.channelHeader.getTxId(),
      timestamp: { seconds: BigInt(ts?.getSeconds() ?? 0), nanos: ts?.getNanos() ?? 0 },
      creator: p.creator,
      getState: (key) => {
        const v = this.#state.get(p.chaincode)?.get(key);
        if (!reads.has(key)) reads.set(key, v);
        return v ? Uint8Array.from(v.value) : undefined;
      },
    };
    if (p.chaincode === "qscc") return { result: this.#qscc(p), reads };
    const runner = this.options.chaincodes[p.chaincode];
    if (!runner) {
      return {
        result: {
          status: 500,
          message: `make sure the chaincode ${p.chaincode} has been successfully defined on channel ${this.options.channel}`,
          payload: new Uint8Array(0),
          writes: [],
        },
        reads,
      };
    }
    try {
      return { result: await runner(invocation), reads };
    } catch (e) {
      return {
        result: { status: 500, message: e instanceof Error ? e.message : String(e), payload: new Uint8Array(0), writes: [] },
        reads,
      };
    }
  }

  /** The query system chaincode, as far as clients of Shandu use it. */
  #qscc(p: DecodedProposal): ChaincodeResult {
    const ok = (payload: Uint8Array): ChaincodeResult => ({ status: 200, payload, writes: [] });
    const fail = (message: string): ChaincodeResult => ({ status: 500, message, payload: new Uint8Array(0), writes: [] });
    const arg = (i: number) => dec.decode(p.args[i] ?? new Uint8Array(0));
    if (arg(0) !== this.options.channel) return fail(`Failed to get ledger for channel: ${arg(0)}`);
    switch (p.fn) {
      case "GetChainInfo": {
        const info = new common.BlockchainInfo();
        info.setHeight(this.blocks.length);
        const last = this.blocks.at(-1)!.getHeader()!;
        info.setCurrentblockhash(blockHeaderHash(last));
        info.setPreviousblockhash(last.getPreviousHash_asU8());
        return ok(info.serializeBinary());
      }
      case "GetBlockByNumber": {
        const b = this.blocks[Number(arg(1))];
        return b ? ok(b.serializeBinary()) : fail(`Failed to get block number ${arg(1)}, error entry not found in index`);
      }
      case "GetTransactionByID":
      case "GetBlockByTxID": {
        const tx = this.transactions.get(arg(1));
        if (!tx) return fail(`Failed to get transaction with id ${arg(1)}, error entry not found in index`);
        if (p.fn === "GetBlockByTxID") return ok(this.blocks[Number(tx.blockNumber)]!.serializeBinary());
        const pt = new peer.ProcessedTransaction();
        pt.setTransactionenvelope(tx.envelope);
        pt.setValidationcode(tx.validationCode);
        return ok(pt.serializeBinary());
      }
      default:
        return fail(`Requested function ${p.fn} not found.`);
    }
  }

  #rwset(chaincode: string, reads: Map<string, Versioned | undefined>, writes: ChaincodeResult["writes"]): Uint8Array {
    const kv = new ledger.rwset.kvrwset.KVRWSet();
    for (const [key, v] of [...reads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const r = new ledger.rwset.kvrwset.KVRead();
      r.setKey(key);
      if (v) {
        const version = new ledger.rwset.kvrwset.Version();
        version.setBlockNum(Number(v.block));
        version.setTxNum(Number(v.tx));
        r.setVersion(version);
      }
      kv.addReads(r);
    }
    const byKey = new Map(writes.map((w) => [w.key, w.value]));
    for (const [key, value] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const w = new ledger.rwset.kvrwset.KVWrite();
      w.setKey(key);
      if (value === null) w.setIsDelete(true);
      else w.setValue(value);
      kv.addWrites(w);
    }
    const ns = new ledger.rwset.NsReadWriteSet();
    ns.setNamespace(chaincode);
    ns.setRwset(kv.serializeBinary());
    const tx = new ledger.rwset.TxReadWriteSet();
    tx.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
    tx.addNsRwset(ns);
    return tx.serializeBinary();
  }

  async #evaluate(req: gateway.EvaluateRequest): Promise<gateway.EvaluateResponse> {
    let p: DecodedProposal;
    try {
      p = this.#decodeProposal(req.getProposedTransaction(), req.getChannelId());
    } catch (e) {
      if (!(e instanceof Refusal) || e.code !== grpc.status.ABORTED) throw e;
      throw new Refusal(grpc.status.ABORTED, `evaluate call to endorser returned error: ${e.message}`, [
        { mspId: this.options.endorsers[0]?.mspId ?? "", message: e.message },
      ]);
    }
    const { result } = await this.#run(p);
    if (result.status >= 400) {
      throw new Refusal(
        grpc.status.UNKNOWN,
        `evaluate call to endorser returned error: chaincode response ${result.status}, ${result.message ?? ""}`,
        [{ mspId: this.options.endorsers[0]?.mspId ?? "", message: `chaincode response ${result.status}, ${result.message ?? ""}` }],
      );
    }
    const response = new peer.Response();
    response.setStatus(result.status);
    response.setMessage(result.message ?? "");
    response.setPayload(result.payload);
    const out = new gateway.EvaluateResponse();
    out.setResult(response);
    return out;
  }

  async #endorse(req: gateway.EndorseRequest): Promise<gateway.EndorseResponse> {
    let p: DecodedProposal;
    try {
      p = this.#decodeProposal(req.getProposedTransaction(), req.getChannelId());
    } catch (e) {
      if (!(e instanceof Refusal) || e.code !== grpc.status.ABORTED) throw e;
      throw new Refusal(grpc.status.ABORTED, "failed to endorse transaction, see attached details for more info", [
        { mspId: this.options.endorsers[0]?.mspId ?? "", message: e.message },
      ]);
    }
    const { result, reads } = await this.#run(p);
    if (result.status >= 400) {
      throw new Refusal(
        grpc.status.ABORTED,
        "failed to endorse transaction, see attached details for more info",
        this.options.endorsers.map((e) => ({ mspId: e.mspId, message: `chaincode response ${result.status}, ${result.message ?? ""}` })),
      );
    }
    const txId = p.channelHeader.getTxId();
    const action = new peer.ChaincodeAction();
    action.setResults(this.#rwset(p.chaincode, reads, result.writes));
    if (result.event) {
      const ev = new peer.ChaincodeEvent();
      ev.setChaincodeId(p.chaincode);
      ev.setTxId(txId);
      ev.setEventName(result.event.name);
      ev.setPayload(result.event.payload);
      action.setEvents(ev.serializeBinary());
    }
    const response = new peer.Response();
    response.setStatus(result.status);
    response.setMessage(result.message ?? "");
    response.setPayload(result.payload);
    action.setResponse(response);
    const ccid = new peer.ChaincodeID();
    ccid.setName(p.chaincode);
    ccid.setVersion(this.options.chaincodeVersion ?? "1.0");
    action.setChaincodeId(ccid);

    // The proposal hash covers the channel header, the signature header and the payload without its
    // transient map (Fabric's protoutil.GetProposalHash1).
    const header = common.Header.deserializeBinary(p.proposal.getHeader_asU8());
    const ccpp = peer.ChaincodeProposalPayload.deserializeBinary(p.proposal.getPayload_asU8());
    ccpp.clearTransientmapMap();
    const ccppBytes = ccpp.serializeBinary();
    const prp = new peer.ProposalResponsePayload();
    prp.setProposalHash(sha256(header.getChannelHeader_asU8(), header.getSignatureHeader_asU8(), ccppBytes));
    prp.setExtension$(action.serializeBinary());
    const prpBytes = prp.serializeBinary();

    const wanted = req.getEndorsingOrganizationsList();
    const endorsers = wanted.length ? this.options.endorsers.filter((e) => wanted.includes(e.mspId)) : this.options.endorsers;
    const endorsed = new peer.ChaincodeEndorsedAction();
    endorsed.setProposalResponsePayload(prpBytes);
    for (const e of endorsers) {
      const id = new msp.SerializedIdentity();
      id.setMspid(e.mspId);
      id.setIdBytes(enc.encode(e.certificatePem));
      const endorser = id.serializeBinary();
      const endorsement = new peer.Endorsement();
      endorsement.setEndorser(endorser);
      endorsement.setSignature(signP256(e.privateKey, Uint8Array.from([...prpBytes, ...endorser])));
      endorsed.addEndorsements(endorsement);
    }
    const cap = new peer.ChaincodeActionPayload();
    cap.setChaincodeProposalPayload(ccppBytes);
    cap.setAction(endorsed);
    const ta = new peer.TransactionAction();
    ta.setHeader(header.getSignatureHeader_asU8());
    ta.setPayload(cap.serializeBinary());
    const tx = new peer.Transaction();
    tx.addActions(ta);
    const payload = new common.Payload();
    payload.setHeader(header);
    payload.setData(tx.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    const out = new gateway.EndorseResponse();
    out.setPreparedTransaction(envelope);
    return out;
  }

  async #submit(req: gateway.SubmitRequest): Promise<gateway.SubmitResponse> {
    const envelope = req.getPreparedTransaction();
    if (!envelope) throw new Refusal(grpc.status.INVALID_ARGUMENT, "a prepared transaction is required");
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const header = payload.getHeader();
    if (!header) throw new Refusal(grpc.status.INVALID_ARGUMENT, "the transaction has no header");
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
    const creator = this.#identity(signatureHeader.getCreator_asU8(), grpc.status.ABORTED);
    if (!verifyP256(creator.certificatePem, envelope.getPayload_asU8(), envelope.getSignature_asU8())) {
      throw new Refusal(
        grpc.status.ABORTED,
        "received unsuccessful response from orderer: status=FORBIDDEN, info=implicit policy evaluation failed",
        [{ mspId: "OrdererMSP", message: "the transaction signature is not valid" }],
      );
    }
    if (channelHeader.getChannelId() !== this.options.channel)
      throw new Refusal(grpc.status.NOT_FOUND, `channel ${channelHeader.getChannelId()} not found`);
    // Ordered asynchronously, as an orderer would cut the block after Broadcast returned.
    setImmediate(() => this.#commit(envelope, channelHeader.getTxId()));
    return new gateway.SubmitResponse();
  }

  #commit(envelope: common.Envelope, txId: string): void {
    if (this.#closed) return;
    const number = BigInt(this.blocks.length);
    let code: number = VALID;
    let chaincode = "";
    let event: peer.ChaincodeEvent | undefined;
    let nsWrites: { ns: string; kv: ledger.rwset.kvrwset.KVRWSet }[] = [];
    try {
      const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
      const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
      const cap = peer.ChaincodeActionPayload.deserializeBinary(tx.getActionsList()[0]!.getPayload_asU8());
      const prp = peer.ProposalResponsePayload.deserializeBinary(cap.getAction()!.getProposalResponsePayload_asU8());
      const action = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
      chaincode = action.getChaincodeId()?.getName() ?? "";
      const events = action.getEvents_asU8();
      event = events.length ? peer.ChaincodeEvent.deserializeBinary(events) : undefined;
      const rw = ledger.rwset.TxReadWriteSet.deserializeBinary(action.getResults_asU8());
      nsWrites = rw
        .getNsRwsetList()
        .map((ns) => ({ ns: ns.getNamespace(), kv: ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8()) }));
    } catch {
      code = peer.TxValidationCode.BAD_PAYLOAD;
    }
    if (code === VALID && this.transactions.has(txId)) code = peer.TxValidationCode.DUPLICATE_TXID;
    if (code === VALID) {
      for (const { ns, kv } of nsWrites) {
        for (const r of kv.getReadsList()) {
          const cur = this.#state.get(ns)?.get(r.getKey());
          const v = r.getVersion();
          const same = v
            ? cur !== undefined && BigInt(v.getBlockNum()) === cur.block && BigInt(v.getTxNum()) === cur.tx
            : cur === undefined;
          if (!same) code = peer.TxValidationCode.MVCC_READ_CONFLICT;
        }
      }
    }
    if (code === VALID) {
      for (const { ns, kv } of nsWrites) {
        const state = this.#state.get(ns) ?? new Map<string, Versioned>();
        this.#state.set(ns, state);
        for (const w of kv.getWritesList()) {
          if (w.getIsDelete()) state.delete(w.getKey());
          else state.set(w.getKey(), { value: w.getValue_asU8(), block: number, tx: 0n });
        }
      }
    }
    const data = new common.BlockData();
    data.addData(envelope.serializeBinary());
    const header = new common.BlockHeader();
    header.setNumber(Number(number));
    header.setPreviousHash(blockHeaderHash(this.blocks.at(-1)!.getHeader()!));
    header.setDataHash(sha256(envelope.serializeBinary()));
    const meta = new common.BlockMetadata();
    meta.setMetadataList([new Uint8Array(0), new Uint8Array(0), Uint8Array.from([code]), new Uint8Array(0), new Uint8Array(0)]);
    const block = new common.Block();
    block.setHeader(header);
    block.setData(data);
    block.setMetadata(meta);
    this.blocks.push(block);
    if (!this.transactions.has(txId))
      this.transactions.set(txId, { txId, blockNumber: number, validationCode: code, envelope, chaincode, event });
    this.#commits.emit("block", number);
    this.#commits.emit(`tx:${txId}`);
  }

  async #commitStatus(
    call: grpc.ServerUnaryCall<gateway.SignedCommitStatusRequest, gateway.CommitStatusResponse>,
  ): Promise<gateway.CommitStatusResponse> {
    const signed = call.request;
    const req = gateway.CommitStatusRequest.deserializeBinary(signed.getRequest_asU8());
    const id = this.#identity(req.getIdentity_asU8(), grpc.status.PERMISSION_DENIED);
    if (!verifyP256(id.certificatePem, signed.getRequest_asU8(), signed.getSignature_asU8())) {
      throw new Refusal(grpc.status.PERMISSION_DENIED, "the commit status request signature is not valid");
    }
    const txId = req.getTransactionId();
    if (!this.transactions.has(txId)) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.#commits.off(`tx:${txId}`, done);
          this.#commits.off("close", closed);
          resolve();
        };
        const closed = () => reject(new Refusal(grpc.status.UNAVAILABLE, "the peer is shutting down"));
        this.#commits.once(`tx:${txId}`, done);
        this.#commits.once("close", closed);
        call.on("cancelled", closed);
      });
    }
    const tx = this.transactions.get(txId)!;
    const out = new gateway.CommitStatusResponse();
    out.setResult(tx.validationCode as peer.TxValidationCodeMap[keyof peer.TxValidationCodeMap]);
    out.setBlockNumber(Number(tx.blockNumber));
    return out;
  }

  async #chaincodeEvents(
    call: grpc.ServerWritableStream<gateway.SignedChaincodeEventsRequest, gateway.ChaincodeEventsResponse>,
  ): Promise<void> {
    const signed = call.request;
    const req = gateway.ChaincodeEventsRequest.deserializeBinary(signed.getRequest_asU8());
    const id = this.#identity(req.getIdentity_asU8(), grpc.status.PERMISSION_DENIED);
    if (!verifyP256(id.certificatePem, signed.getRequest_asU8(), signed.getSignature_asU8())) {
      throw new Refusal(grpc.status.PERMISSION_DENIED, "the chaincode events request signature is not valid");
    }
    if (req.getChannelId() !== this.options.channel) throw new Refusal(grpc.status.NOT_FOUND, `channel ${req.getChannelId()} not found`);
    const start = req.getStartPosition();
    let next: bigint;
    switch (start?.getTypeCase()) {
      case orderer.SeekPosition.TypeCase.SPECIFIED:
        next = BigInt(start.getSpecified()!.getNumber());
        break;
      case orderer.SeekPosition.TypeCase.OLDEST:
        next = 0n;
        break;
      case orderer.SeekPosition.TypeCase.NEWEST:
        next = this.height - 1n;
        break;
      default:
        next = this.height;
    }
    let skipUntil = req.getAfterTransactionId() || undefined;
    const chaincode = req.getChaincodeId();
    let ended = false;
    const wake = new EventEmitter();
    const onBlock = () => wake.emit("wake");
    const end = () => {
      ended = true;
      wake.emit("wake");
    };
    this.#commits.on("block", onBlock);
    this.#commits.on("close", end);
    call.on("cancelled", end);
    call.on("close", end);
    try {
      while (!ended) {
        if (next >= this.height) {
          await new Promise<void>((resolve) => wake.once("wake", resolve));
          continue;
        }
        const block = this.blocks[Number(next)]!;
        const events: peer.ChaincodeEvent[] = [];
        for (const raw of block.getData()?.getDataList_asU8() ?? []) {
          const env = common.Envelope.deserializeBinary(raw);
          const ch = common.ChannelHeader.deserializeBinary(
            common.Payload.deserializeBinary(env.getPayload_asU8()).getHeader()!.getChannelHeader_asU8(),
          );
          const tx = this.transactions.get(ch.getTxId());
          if (skipUntil !== undefined) {
            if (ch.getTxId() === skipUntil) skipUntil = undefined;
            continue;
          }
          if (tx && tx.blockNumber === next && tx.validationCode === VALID && tx.event && tx.event.getChaincodeId() === chaincode)
            events.push(tx.event);
        }
        // A checkpoint transaction not in its block: nothing of that block was consumed.
        if (skipUntil !== undefined) {
          skipUntil = undefined;
          continue;
        }
        if (events.length) {
          const res = new gateway.ChaincodeEventsResponse();
          res.setBlockNumber(Number(next));
          res.setEventsList(events);
          if (!call.write(res)) await new Promise<void>((resolve) => call.once("drain", resolve));
        }
        next++;
      }
    } finally {
      this.#commits.off("block", onBlock);
      this.#commits.off("close", end);
      if (!call.destroyed) call.end();
    }
  }

  // --- the Deliver service -------------------------------------------------------------------------------

  /** Answers each seek envelope of the stream in turn, as Fabric's deliver handler does. */
  async #deliver(call: grpc.ServerDuplexStream<common.Envelope, peer.DeliverResponse>, filtered: boolean): Promise<void> {
    const queue: common.Envelope[] = [];
    let inputEnded = false;
    let ended = false;
    const wake = new EventEmitter();
    const poke = () => wake.emit("wake");
    const end = () => {
      ended = true;
      poke();
    };
    call.on("data", (env: common.Envelope) => {
      queue.push(env);
      poke();
    });
    call.on("end", () => {
      inputEnded = true;
      poke();
    });
    call.on("cancelled", end);
    call.on("error", end);
    this.#commits.on("block", poke);
    this.#commits.on("close", end);
    const waitForWake = () => new Promise<void>((resolve) => wake.once("wake", resolve));
    const send = async (res: peer.DeliverResponse) => {
      if (!call.write(res)) await new Promise<void>((resolve) => call.once("drain", resolve));
    };
    try {
      while (!ended) {
        const envelope = queue.shift();
        if (!envelope) {
          if (inputEnded) break;
          await waitForWake();
          continue;
        }
        const status = await this.#deliverBlocks(envelope, filtered, send, () => ended, waitForWake);
        if (ended) break;
        const res = new peer.DeliverResponse();
        res.setStatus(status);
        await send(res);
      }
    } finally {
      this.#commits.off("block", poke);
      this.#commits.off("close", end);
      if (!call.destroyed) call.end();
    }
  }

  /** One seek request: streams its blocks and returns the status that ends it. */
  async #deliverBlocks(
    envelope: common.Envelope,
    filtered: boolean,
    send: (res: peer.DeliverResponse) => Promise<void>,
    ended: () => boolean,
    waitForWake: () => Promise<void>,
  ): Promise<common.StatusMap[keyof common.StatusMap]> {
    const Status = common.Status;
    let channelHeader: common.ChannelHeader;
    let signatureHeader: common.SignatureHeader;
    let seekInfo: orderer.SeekInfo;
    try {
      const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
      const header = payload.getHeader();
      if (!header) return Status.BAD_REQUEST;
      channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
      signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
      seekInfo = orderer.SeekInfo.deserializeBinary(payload.getData_asU8());
    } catch {
      return Status.BAD_REQUEST;
    }
    // Fabric refuses envelopes stamped more than 15 minutes away from its clock.
    const ts = channelHeader.getTimestamp();
    const skewMs = ts ? Math.abs(ts.getSeconds() * 1000 + ts.getNanos() / 1e6 - Date.now()) : Number.POSITIVE_INFINITY;
    if (skewMs > 15 * 60 * 1000) return Status.BAD_REQUEST;
    if (channelHeader.getChannelId() !== this.options.channel) return Status.NOT_FOUND;
    // The channel's Readers policy: a signature by a certificate of one of its MSPs.
    try {
      const creator = this.#identity(signatureHeader.getCreator_asU8(), grpc.status.PERMISSION_DENIED);
      if (!verifyP256(creator.certificatePem, envelope.getPayload_asU8(), envelope.getSignature_asU8())) return Status.FORBIDDEN;
    } catch {
      return Status.FORBIDDEN;
    }
    const start = seekInfo.getStart();
    const stop = seekInfo.getStop();
    if (!start || !stop) return Status.BAD_REQUEST;
    const T = orderer.SeekPosition.TypeCase;
    const position = (p: orderer.SeekPosition): bigint | undefined => {
      switch (p.getTypeCase()) {
        case T.OLDEST:
          return 0n;
        case T.NEWEST:
          return this.height - 1n;
        case T.SPECIFIED:
          return BigInt(p.getSpecified()!.getNumber());
        case T.NEXT_COMMIT:
          return this.height;
        default:
          return undefined;
      }
    };
    let next = position(start);
    // As in Fabric: an OLDEST stop ends at the start block; a NEXT_COMMIT stop is not a position.
    const last = stop.getTypeCase() === T.OLDEST ? next : stop.getTypeCase() === T.NEXT_COMMIT ? undefined : position(stop);
    if (next === undefined || last === undefined || last < next) return Status.BAD_REQUEST;
    const failIfNotReady = seekInfo.getBehavior() === orderer.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY;
    const headersOnly = seekInfo.getContentType() === orderer.SeekInfo.SeekContentType.HEADER_WITH_SIG;
    while (next <= last) {
      if (ended()) return Status.SERVICE_UNAVAILABLE;
      if (next >= this.height) {
        if (failIfNotReady) return Status.NOT_FOUND;
        await waitForWake();
        continue;
      }
      const block = this.blocks[Number(next)]!;
      const res = new peer.DeliverResponse();
      if (filtered) res.setFilteredBlock(this.#filteredBlock(block));
      else if (headersOnly) {
        const stripped = common.Block.deserializeBinary(block.serializeBinary());
        stripped.clearData();
        res.setBlock(stripped);
      } else res.setBlock(block);
      await send(res);
      next++;
    }
    return Status.SUCCESS;
  }

  /** A block as `DeliverFiltered` sends it: per transaction its id, type, validation code and chaincode events without payload. */
  #filteredBlock(block: common.Block): peer.FilteredBlock {
    const out = new peer.FilteredBlock();
    out.setChannelId(this.options.channel);
    out.setNumber(block.getHeader()!.getNumber());
    const codes = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array(0);
    for (const [i, raw] of (block.getData()?.getDataList_asU8() ?? []).entries()) {
      const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(raw).getPayload_asU8());
      const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
      const ft = new peer.FilteredTransaction();
      ft.setTxid(ch.getTxId());
      ft.setType(ch.getType() as common.HeaderTypeMap[keyof common.HeaderTypeMap]);
      ft.setTxValidationCode((codes[i] ?? peer.TxValidationCode.NOT_VALIDATED) as peer.TxValidationCodeMap[keyof peer.TxValidationCodeMap]);
      if (ch.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
        const actions = new peer.FilteredTransactionActions();
        try {
          for (const action of peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()) {
            const endorsed = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8()).getAction();
            const prp = peer.ProposalResponsePayload.deserializeBinary(endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array(0));
            const events = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()).getEvents_asU8();
            if (!events.length) continue;
            const event = peer.ChaincodeEvent.deserializeBinary(events);
            if (!event.getChaincodeId()) continue;
            const stripped = new peer.ChaincodeEvent();
            stripped.setChaincodeId(event.getChaincodeId());
            stripped.setTxId(event.getTxId());
            stripped.setEventName(event.getEventName());
            const fca = new peer.FilteredChaincodeAction();
            fca.setChaincodeEvent(stripped);
            actions.addChaincodeActions(fca);
          }
        } catch {
          // A transaction that does not parse was committed as BAD_PAYLOAD: it has no actions to show.
        }
        ft.setTransactionActions(actions);
      }
      out.addFilteredTransactions(ft);
    }
    return out;
  }
}
