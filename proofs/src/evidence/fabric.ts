/**
 * `"fabric-endorsement"` source evidence (docs/protocol.md §8.4.5): a message emitted by the Shandu
 * outbox chaincode on a Hyperledger Fabric channel, as the chaincode event of one transaction, proven
 * offline by the endorsements of that transaction.
 *
 * ```json
 * { "kind": "fabric-endorsement",
 *   "channel": "shandu", "chaincode": "outbox",
 *   "txId": "<64 hex digits: Fabric's transaction id>",
 *   "blockNumber": "42", "validationCode": 0,
 *   "proposalResponsePayload": "0x…",     // ProposalResponsePayload, the bytes the endorsers signed
 *   "endorsements": [{ "endorser": "0x…", // SerializedIdentity {mspid, PEM certificate}
 *                      "signature": "0x…" }] }  // DER ECDSA P-256 over payload ‖ endorser
 * ```
 *
 * Fabric formats (fabric-protos `peer/proposal_response.proto`, `peer/proposal.proto`,
 * `peer/chaincode_event.proto`, `msp/identities.proto`): an endorser signs
 * `SHA-256(proposalResponsePayload ‖ endorser)` with ECDSA on P-256, low-S (Fabric's BCCSP refuses
 * high-S signatures); `proposalResponsePayload.extension` is a `ChaincodeAction` whose `events` is the
 * `ChaincodeEvent` the chaincode set, with `chaincode_id` and `tx_id` filled in by the endorsing peer,
 * and whose `response` is the chaincode's `Response`. The message's position (fields 9–11) is the
 * block number, the transaction id read as the 32 bytes of its hex, and event index 0 (a Fabric
 * transaction has at most one chaincode event).
 *
 * Checks, in order: shape; the channel and chaincode against the pins; the payload decodes to a
 * `ChaincodeAction` of the evidence's chaincode; its event is `MessageSent` from that chaincode in
 * transaction `txId`; the event payload and the position are the message's; the chaincode answered
 * 200; every endorsement is by a certificate that a pinned root of its MSP signed and verifies over
 * the payload; the distinct MSPs that endorsed satisfy the pinned policy; the validation code is VALID.
 *
 * Trust: the endorsements prove that peers of the pinned MSPs executed the outbox and produced this
 * event in transaction `txId` — not that the transaction was ordered, committed, or valid.
 * `blockNumber` and `validationCode` are what the committing peer reported (e.g. from the block's
 * `TRANSACTIONS_FILTER`): Fabric computes the validation code on each peer, and no ordered-block
 * signature covers it, so nothing offline proves it. `channel` is the name the evidence builder
 * states; the endorsements bind it only through the proposal hash, which is not checked here.
 * Certificates are checked against the pinned roots only: validity dates, revocation lists and
 * NodeOU roles are not checked.
 */
import { p256 } from "@noble/curves/nist.js";
import type { Evidence } from "../bundle/bundle.ts";
import type { EvidenceContext, EvidenceVerifier } from "../bundle/verify.ts";
import { bytesEqual, concatBytes, fromHex, toHex } from "../bytes.ts";
import { BundleError, CodecError, EvidenceError } from "../errors.ts";
import { arr, hex, int, obj, str, u64 } from "../json.ts";
import { encodeMessage } from "../message.ts";
import { nameOrganizationalUnits, parseX509, pemCertificate, type X509Certificate } from "./der.ts";
import { readProto } from "./protobuf.ts";

/** The evidence `kind`. */
export const FABRIC_ENDORSEMENT_EVIDENCE_KIND = "fabric-endorsement";

/** The chaincode event name the outbox sets with `SetEvent`; its payload is fields 1–8 of the message. */
export const FABRIC_MESSAGE_EVENT = "MessageSent";

/** Fabric's `Response.status` for success (`shim.OK`). */
const STATUS_OK = 200;

/** Most endorsements one evidence may carry. */
const MAX_ENDORSEMENTS = 64;
const MAX_PAYLOAD_BYTES = 1 << 20;
const MAX_IDENTITY_BYTES = 16_384;

/** One endorsement exactly as in the transaction (`protos.Endorsement`). */
export interface FabricEndorsement {
  /** `SerializedIdentity` bytes: `mspid` (field 1) and the PEM certificate (`id_bytes`, field 2). */
  endorser: Uint8Array;
  /** DER ECDSA signature over `proposalResponsePayload ‖ endorser`. */
  signature: Uint8Array;
}

/** `"fabric-endorsement"` evidence with its members as bytes. */
export interface FabricEndorsementProof {
  /** The channel name, as stated by the evidence builder (see the module's trust note). */
  channel: string;
  /** The outbox chaincode's name. */
  chaincode: string;
  /** Fabric's transaction id: 64 lower-case hex digits (a SHA-256), without `0x`. */
  txId: string;
  /** The block that holds the transaction, as the committing peer reported it. */
  blockNumber: bigint;
  /** Fabric's `TxValidationCode` for the transaction (0 = VALID), as the committing peer reported it. */
  validationCode: number;
  /** The `ProposalResponsePayload` bytes the endorsers signed, never re-encoded. */
  proposalResponsePayload: Uint8Array;
  endorsements: FabricEndorsement[];
}

/** The message's `source.txHash` for a Fabric transaction id: the 32 bytes its hex digits spell. */
export function fabricTxHash(txId: string): Uint8Array {
  if (!TX_ID.test(txId))
    throw new CodecError("BAD_HEX", "a Fabric transaction id is 64 lower-case hex digits", { facts: { field: "txId" } });
  return fromHex(txId, 32, "txId");
}

const TX_ID = /^[0-9a-f]{64}$/;

/** The JSON evidence object for `p` (bytes as `0x` hex, the block number as a decimal string). */
export function fabricEndorsementEvidence(p: FabricEndorsementProof): Evidence {
  return {
    kind: FABRIC_ENDORSEMENT_EVIDENCE_KIND,
    channel: p.channel,
    chaincode: p.chaincode,
    txId: p.txId,
    blockNumber: p.blockNumber.toString(),
    validationCode: p.validationCode,
    proposalResponsePayload: toHex(p.proposalResponsePayload),
    endorsements: p.endorsements.map((e) => ({ endorser: toHex(e.endorser), signature: toHex(e.signature) })),
  };
}

/**
 * Reads `"fabric-endorsement"` evidence. Checks only the shape (types, hex, sizes); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member in `facts.path`.
 */
export function parseFabricEndorsementEvidence(e: Evidence): FabricEndorsementProof {
  const kind = FABRIC_ENDORSEMENT_EVIDENCE_KIND;
  try {
    if (e.kind !== kind) throw new BundleError("SCHEMA", `kind: expected "${kind}"`, { facts: { path: "kind" } });
    const txId = str(e.txId, "txId", 64);
    if (!TX_ID.test(txId)) throw new BundleError("SCHEMA", "txId: expected 64 lower-case hex digits", { facts: { path: "txId" } });
    const nonEmpty = (v: unknown, path: string) => {
      const s = str(v, path, 249); // Fabric's limit for channel names; chaincode names are shorter
      if (s.length === 0) throw new BundleError("SCHEMA", `${path}: expected a non-empty string`, { facts: { path } });
      return s;
    };
    return {
      channel: nonEmpty(e.channel, "channel"),
      chaincode: nonEmpty(e.chaincode, "chaincode"),
      txId,
      blockNumber: u64(e.blockNumber, "blockNumber"),
      validationCode: int(e.validationCode, "validationCode", 0, 255),
      proposalResponsePayload: hex(e.proposalResponsePayload, "proposalResponsePayload", undefined, MAX_PAYLOAD_BYTES),
      endorsements: arr(e.endorsements, "endorsements", MAX_ENDORSEMENTS).map((v, i) => {
        const o = obj(v, `endorsements[${i}]`);
        return {
          endorser: hex(o.endorser, `endorsements[${i}].endorser`, undefined, MAX_IDENTITY_BYTES),
          signature: hex(o.signature, `endorsements[${i}].signature`, undefined, 72),
        };
      }),
    };
  } catch (cause) {
    if (!(cause instanceof BundleError)) throw cause;
    const path = String(cause.facts.path ?? "evidence");
    throw new EvidenceError("EVIDENCE_MALFORMED", `${kind} evidence: ${cause.shortMessage}`, { facts: { path }, cause });
  }
}

/**
 * A Fabric endorsement policy over MSP ids, as in Fabric's `SignaturePolicy`: `signedBy` is met when an
 * endorsement of that MSP verified; `outOf` when at least `k` of its `rules` are met. AND of n rules is
 * `{ outOf: n, rules }`, OR is `{ outOf: 1, rules }`. Unlike Fabric, rules are met by MSPs, not by
 * distinct identities: `{ outOf: 2, rules: [{ signedBy: "A" }, { signedBy: "A" }] }` needs one
 * endorsement of A.
 */
export type FabricPolicy = { signedBy: string } | { outOf: number; rules: readonly FabricPolicy[] };

export interface FabricEndorsementVerifierOptions {
  /**
   * Trusted CA certificates (PEM) by MSP id, from the channel configuration. An endorser's certificate
   * must be signed directly by one of its MSP's certificates: pin intermediate CAs here too if the
   * MSP's peers are issued by one.
   */
  msps: Readonly<Record<string, readonly string[]>>;
  /** The endorsement policy the endorsing MSPs must satisfy (the outbox chaincode's, or stricter). */
  policy: FabricPolicy;
  /** When set, evidence naming another channel fails `FABRIC_CHANNEL_MISMATCH`. */
  channel?: string;
  /** When set, evidence naming another chaincode fails `FABRIC_CHAINCODE_MISMATCH`. */
  chaincode?: string;
  /**
   * The organizational unit an endorser's certificate subject must carry (default `"peer"`, the role
   * Fabric's NodeOUs give peers). A CA usually issues client, admin and peer certificates alike, so
   * without this check any enrolled user of a pinned MSP could sign a made-up response. `null` turns it
   * off, for MSPs without NodeOUs: then pin a CA (or intermediate) that issues peer certificates only.
   */
  endorserOrganizationalUnit?: string | null;
}

interface PinnedCa {
  cert: X509Certificate;
}

/**
 * The verifier for `"fabric-endorsement"` evidence: offline, synchronous, P-256 and SHA-256 only.
 *
 * Returns the one-line detail of a pass; throws {@link EvidenceError} with one of the codes
 * `EVIDENCE_MALFORMED`, `FABRIC_CHANNEL_MISMATCH`, `FABRIC_CHAINCODE_MISMATCH`, `FABRIC_PAYLOAD_INVALID`,
 * `FABRIC_EVENT_MISMATCH`, `MESSAGE_MISMATCH`, `FABRIC_RESPONSE_FAILED`, `FABRIC_ENDORSEMENT_INVALID`,
 * `FABRIC_UNKNOWN_CA`, `FABRIC_POLICY_NOT_SATISFIED`, `FABRIC_TX_INVALID`, in the order the checks run.
 * The options are trusted (they are the verifier's pins, never read from a bundle); the constructor
 * throws {@link CodecError} `BAD_LENGTH` for a pinned certificate it cannot read (facts name it) and
 * `VALUE_OUT_OF_RANGE` for a policy that names an unpinned MSP or has `outOf` outside 1..rules.
 */
export function fabricEndorsementEvidenceVerifier(opts: FabricEndorsementVerifierOptions): EvidenceVerifier {
  const msps = new Map<string, PinnedCa[]>();
  for (const [msp, pems] of Object.entries(opts.msps)) {
    msps.set(
      msp,
      pems.map((pem, i) => {
        const field = `msps[${msp}][${i}]`;
        const der = pemCertificate(pem);
        try {
          if (!der) throw new EvidenceError("EVIDENCE_MALFORMED", "not a PEM certificate");
          return { cert: parseX509(der, field, "EVIDENCE_MALFORMED") };
        } catch (cause) {
          if (!(cause instanceof EvidenceError)) throw cause;
          throw new CodecError("BAD_LENGTH", `${field} is not a PEM X.509 certificate with a P-256 key`, { facts: { field }, cause });
        }
      }),
    );
  }
  checkPolicy(opts.policy, msps, "policy");
  return {
    kind: FABRIC_ENDORSEMENT_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyFabric(parseFabricEndorsementEvidence(evidence), ctx, opts, msps),
  };
}

function checkPolicy(p: FabricPolicy, msps: ReadonlyMap<string, unknown>, field: string, depth = 0): void {
  const bad = (why: string) => new CodecError("VALUE_OUT_OF_RANGE", `${field}: ${why}`, { facts: { field } });
  if (depth > 16) throw bad("nested more than 16 deep");
  if ("signedBy" in p) {
    if (!msps.has(p.signedBy)) throw bad(`names MSP ${p.signedBy}, which has no pinned CA`);
    return;
  }
  if (!Number.isInteger(p.outOf) || p.outOf < 1 || p.outOf > p.rules.length) throw bad("outOf must be 1..rules.length");
  for (const [i, r] of p.rules.entries()) checkPolicy(r, msps, `${field}.rules[${i}]`, depth + 1);
}

function satisfied(p: FabricPolicy, signed: ReadonlySet<string>): boolean {
  if ("signedBy" in p) return signed.has(p.signedBy);
  let met = 0;
  for (const r of p.rules) if (satisfied(r, signed)) met++;
  return met >= p.outOf;
}

function describePolicy(p: FabricPolicy): string {
  if ("signedBy" in p) return p.signedBy;
  const inner = p.rules.map(describePolicy).join(", ");
  if (p.outOf === p.rules.length && p.rules.length > 1) return `AND(${inner})`;
  if (p.outOf === 1 && p.rules.length > 1) return `OR(${inner})`;
  return `${p.outOf}-of(${inner})`;
}

/** Fabric's `TxValidationCode` names (fabric-protos `peer/transaction.proto`). */
const TX_VALIDATION_CODES: Readonly<Record<number, string>> = {
  0: "VALID",
  1: "NIL_ENVELOPE",
  2: "BAD_PAYLOAD",
  3: "BAD_COMMON_HEADER",
  4: "BAD_CREATOR_SIGNATURE",
  5: "INVALID_ENDORSER_TRANSACTION",
  6: "INVALID_CONFIG_TRANSACTION",
  7: "UNSUPPORTED_TX_PAYLOAD",
  8: "BAD_PROPOSAL_TXID",
  9: "DUPLICATE_TXID",
  10: "ENDORSEMENT_POLICY_FAILURE",
  11: "MVCC_READ_CONFLICT",
  12: "PHANTOM_READ_CONFLICT",
  13: "UNKNOWN_TX_TYPE",
  14: "TARGET_CHAIN_NOT_FOUND",
  15: "MARSHAL_TX_ERROR",
  16: "NIL_TXACTION",
  17: "EXPIRED_CHAINCODE",
  18: "CHAINCODE_VERSION_CONFLICT",
  19: "BAD_HEADER_EXTENSION",
  20: "BAD_CHANNEL_HEADER",
  21: "BAD_RESPONSE_PAYLOAD",
  22: "BAD_RWSET",
  23: "ILLEGAL_WRITESET",
  24: "INVALID_WRITESET",
  25: "INVALID_CHAINCODE",
  254: "NOT_VALIDATED",
  255: "INVALID_OTHER_REASON",
};

/** The name of a `TxValidationCode`, or `UNKNOWN(<n>)`. */
export function fabricValidationCodeName(code: number): string {
  return TX_VALIDATION_CODES[code] ?? `UNKNOWN(${code})`;
}

/** What the endorsed payload says, decoded. */
interface EndorsedAction {
  chaincodeName: string;
  status: number;
  event: { chaincodeId: string; txId: string; eventName: string; payload: Uint8Array } | null;
}

/** Decodes ProposalResponsePayload → ChaincodeAction → {ChaincodeID, Response, ChaincodeEvent}. */
function decodeEndorsedAction(prp: Uint8Array): EndorsedAction {
  const code = "FABRIC_PAYLOAD_INVALID";
  // ProposalResponsePayload { bytes proposal_hash = 1; bytes extension = 2; }
  const payload = readProto(prp, "ProposalResponsePayload", code);
  if (payload.bytes(1, "proposal_hash").length !== 32) {
    throw new EvidenceError(code, "ProposalResponsePayload.proposal_hash is not a SHA-256", { facts: { what: "proposal_hash" } });
  }
  // ChaincodeAction { bytes results = 1; bytes events = 2; Response response = 3; ChaincodeID chaincode_id = 4; }
  const action = readProto(payload.bytes(2, "extension"), "ChaincodeAction", code);
  // ChaincodeID { string path = 1; string name = 2; string version = 3; }
  const chaincodeName = readProto(action.bytes(4, "chaincode_id"), "ChaincodeID", code).string(2, "name");
  // Response { int32 status = 1; string message = 2; bytes payload = 3; }
  const status = readProto(action.bytes(3, "response"), "Response", code).int32(1, "status");
  const events = action.bytes(2, "events");
  if (events.length === 0) return { chaincodeName, status, event: null };
  // ChaincodeEvent { string chaincode_id = 1; string tx_id = 2; string event_name = 3; bytes payload = 4; }
  const ev = readProto(events, "ChaincodeEvent", code);
  return {
    chaincodeName,
    status,
    event: {
      chaincodeId: ev.string(1, "chaincode_id"),
      txId: ev.string(2, "tx_id"),
      eventName: ev.string(3, "event_name"),
      payload: ev.bytes(4, "payload"),
    },
  };
}

const HALF_N = p256.Point.CURVE().n >> 1n;

function verifyFabric(
  ev: FabricEndorsementProof,
  ctx: EvidenceContext,
  opts: FabricEndorsementVerifierOptions,
  msps: ReadonlyMap<string, PinnedCa[]>,
): string {
  const m = ctx.message;

  // Pins.
  if (opts.channel !== undefined && ev.channel !== opts.channel) {
    throw new EvidenceError("FABRIC_CHANNEL_MISMATCH", "the evidence names another channel than the pinned one", {
      facts: { pinned: opts.channel, evidence: ev.channel },
    });
  }
  if (opts.chaincode !== undefined && ev.chaincode !== opts.chaincode) {
    throw new EvidenceError("FABRIC_CHAINCODE_MISMATCH", "the evidence names another chaincode than the pinned one", {
      facts: { pinned: opts.chaincode, evidence: ev.chaincode },
    });
  }

  // The endorsed action.
  const action = decodeEndorsedAction(ev.proposalResponsePayload);
  if (action.chaincodeName !== ev.chaincode) {
    throw new EvidenceError("FABRIC_CHAINCODE_MISMATCH", "the endorsed action is of another chaincode than the evidence names", {
      facts: { endorsed: action.chaincodeName, evidence: ev.chaincode },
    });
  }

  // The event.
  const eventMismatch = (field: string, reason: string, facts: Record<string, string> = {}) =>
    new EvidenceError("FABRIC_EVENT_MISMATCH", `the endorsed chaincode event is not the outbox's message event: ${reason}`, {
      facts: { field, ...facts },
    });
  const event = action.event;
  if (!event) throw eventMismatch("events", "the transaction set no chaincode event");
  if (event.chaincodeId !== ev.chaincode) throw eventMismatch("chaincode_id", "set by another chaincode", { endorsed: event.chaincodeId });
  if (event.txId !== ev.txId) throw eventMismatch("tx_id", "endorsed in another transaction", { endorsed: event.txId });
  if (event.eventName !== FABRIC_MESSAGE_EVENT)
    throw eventMismatch("event_name", `not named ${FABRIC_MESSAGE_EVENT}`, { endorsed: event.eventName });

  // The message: event payload = fields 1–8; position = (block, tx id bytes, event 0).
  const encoding = encodeMessage(m);
  const body = encoding.subarray(0, encoding.length - 44);
  const mismatch = (field: string, reason: string) =>
    new EvidenceError("MESSAGE_MISMATCH", `the endorsed event is not the message: ${reason}`, { facts: { field } });
  if (!bytesEqual(event.payload, body)) throw mismatch("payload", "its payload is not the message's fields 1–8");
  if (m.source.blockNumber !== ev.blockNumber) throw mismatch("blockNumber", "the message names another block");
  if (!bytesEqual(m.source.txHash, fabricTxHash(ev.txId))) throw mismatch("txId", "the message names another transaction");
  if (m.source.logIndex !== 0) throw mismatch("logIndex", "a Fabric transaction has one chaincode event, index 0");

  // The chaincode's answer.
  if (action.status !== STATUS_OK) {
    throw new EvidenceError("FABRIC_RESPONSE_FAILED", "the chaincode did not answer 200 OK", { facts: { status: action.status } });
  }

  // Endorsements.
  const signers = new Map<string, string>(); // endorser hex → MSP id
  ev.endorsements.forEach((e, index) => {
    const msp = checkEndorsement(
      e,
      index,
      ev.proposalResponsePayload,
      msps,
      opts.endorserOrganizationalUnit === undefined ? "peer" : opts.endorserOrganizationalUnit,
    );
    signers.set(toHex(e.endorser), msp);
  });
  const endorsingMsps = new Set(signers.values());
  if (!satisfied(opts.policy, endorsingMsps)) {
    throw new EvidenceError("FABRIC_POLICY_NOT_SATISFIED", "the endorsing MSPs do not satisfy the pinned endorsement policy", {
      facts: { policy: describePolicy(opts.policy), endorsedBy: [...endorsingMsps].sort().join(",") || "none" },
    });
  }

  // Validation.
  if (ev.validationCode !== 0) {
    throw new EvidenceError("FABRIC_TX_INVALID", "the committing peer marked the transaction invalid", {
      facts: { validationCode: ev.validationCode, name: fabricValidationCodeName(ev.validationCode) },
    });
  }

  const pinned = [opts.channel === undefined ? "" : "channel", opts.chaincode === undefined ? "" : "chaincode"].filter(Boolean);
  return (
    `event ${FABRIC_MESSAGE_EVENT} of chaincode ${ev.chaincode} on channel ${ev.channel}` +
    `${pinned.length ? ` (pinned ${pinned.join(" and ")})` : " (channel and chaincode not pinned)"}, tx ${ev.txId.slice(0, 12)}…, ` +
    `endorsed by ${signers.size} identit${signers.size === 1 ? "y" : "ies"} of ${[...endorsingMsps].sort().join(", ")} satisfying ${describePolicy(opts.policy)}; ` +
    `block #${ev.blockNumber} and validation code VALID as reported by the committing peer (not provable offline); certificate validity dates not checked`
  );
}

/** Checks one endorsement and returns its MSP id. */
function checkEndorsement(
  e: FabricEndorsement,
  index: number,
  prp: Uint8Array,
  msps: ReadonlyMap<string, PinnedCa[]>,
  requiredOu: string | null,
): string {
  const invalid = (reason: string, extra: Record<string, string> = {}) =>
    new EvidenceError("FABRIC_ENDORSEMENT_INVALID", `endorsement ${index} is not valid: ${reason}`, {
      facts: { endorsement: index, reason, ...extra },
    });
  // SerializedIdentity { string mspid = 1; bytes id_bytes = 2; }
  let mspId: string;
  let idBytes: Uint8Array;
  try {
    const id = readProto(e.endorser, "SerializedIdentity", "FABRIC_ENDORSEMENT_INVALID");
    mspId = id.string(1, "mspid");
    idBytes = id.bytes(2, "id_bytes");
  } catch (cause) {
    if (!(cause instanceof EvidenceError)) throw cause;
    throw invalid(`the endorser is not a SerializedIdentity (${cause.shortMessage})`);
  }
  const roots = msps.get(mspId);
  if (!roots) {
    throw new EvidenceError("FABRIC_UNKNOWN_CA", `endorsement ${index} is by an MSP with no pinned CA`, {
      facts: { endorsement: index, msp: mspId },
    });
  }
  const der = pemCertificate(new TextDecoder("utf-8", { fatal: false }).decode(idBytes));
  if (!der) throw invalid("the identity is not a PEM certificate", { msp: mspId });
  const cert = (() => {
    try {
      return parseX509(der, `endorsement ${index} certificate`, "FABRIC_ENDORSEMENT_INVALID");
    } catch (cause) {
      if (!(cause instanceof EvidenceError)) throw cause;
      throw invalid(String(cause.facts.reason), { msp: mspId });
    }
  })();
  // The issuing CA: a pinned certificate of this MSP whose subject is the issuer and whose key signed it.
  // Certificate signatures are not required to be low-S (X.509 CAs do not normalise S).
  const issued = roots.some(
    (r) =>
      bytesEqual(r.cert.subject, cert.issuer) &&
      p256.verify(cert.signature, cert.tbs, r.cert.publicKey, { format: "der", lowS: false, prehash: true }),
  );
  if (!issued) {
    throw new EvidenceError("FABRIC_UNKNOWN_CA", `endorsement ${index}'s certificate was not issued by a pinned CA of its MSP`, {
      facts: { endorsement: index, msp: mspId },
    });
  }
  // The endorser's role: a peer's certificate, not a client's or an admin's from the same CA.
  if (requiredOu !== null) {
    const ous = nameOrganizationalUnits(cert.subject, (reason) => invalid(`the certificate's subject: ${reason}`, { msp: mspId }));
    if (!ous.includes(requiredOu)) {
      throw invalid(`the certificate is not an endorser's: its subject has no OU=${requiredOu} (Fabric NodeOUs)`, {
        msp: mspId,
        organizationalUnits: ous.join(",") || "none",
      });
    }
  }
  // The endorsement signature: ECDSA P-256 over SHA-256(payload ‖ endorser), DER, low-S as Fabric requires.
  let s: bigint;
  try {
    s = p256.Signature.fromBytes(e.signature, "der").s;
  } catch {
    throw invalid("the signature is not a DER ECDSA signature", { msp: mspId });
  }
  if (s > HALF_N) throw invalid("the signature has a high S (Fabric accepts only low-S signatures)", { msp: mspId });
  const ok = p256.verify(e.signature, concatBytes(prp, e.endorser), cert.publicKey, { format: "der", lowS: true, prehash: true });
  if (!ok) throw invalid("the signature does not verify over the payload and the endorser", { msp: mspId });
  return mspId;
}
