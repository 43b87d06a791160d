/**
 * `"fabric-endorsement"` evidence built with Fabric's own protobuf classes (`@hyperledger/fabric-protos`)
 * and certificates made by `openssl` (test/vectors/fabric/msps.json, test-only keys): valid evidence
 * passes under a 2-of-3 and an AND policy, and every forgery fails with its own code.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fabricProtos from "@hyperledger/fabric-protos";
import { p256 } from "@noble/curves/nist.js";
import type { Evidence } from "../bundle/bundle.ts";
import { fromHex } from "../bytes.ts";
import { CodecError, EvidenceError } from "../errors.ts";
import { encodeMessage, type Message, MessageKind, messageId } from "../message.ts";
import {
  FABRIC_MESSAGE_EVENT,
  type FabricEndorsementProof,
  type FabricPolicy,
  fabricEndorsementEvidence,
  fabricEndorsementEvidenceVerifier,
  fabricTxHash,
  fabricValidationCodeName,
  parseFabricEndorsementEvidence,
} from "./fabric.ts";
import { readProto } from "./protobuf.ts";

const { peer, msp } = fabricProtos;

interface Org {
  ca: string;
  peer: { cert: string; key: string };
}
const vectors = JSON.parse(readFileSync(new URL("../../test/vectors/fabric/msps.json", import.meta.url), "utf8")) as {
  msps: Record<"Org1MSP" | "Org2MSP" | "Org3MSP", Org>;
  rogue: Org;
};
const ORGS = vectors.msps;
const MSPS = { Org1MSP: [ORGS.Org1MSP.ca], Org2MSP: [ORGS.Org2MSP.ca], Org3MSP: [ORGS.Org3MSP.ca] };
const TWO_OF_THREE: FabricPolicy = { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }, { signedBy: "Org3MSP" }] };
const AND_1_2: FabricPolicy = { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }] };
const TX_ID = "7c4a6f1e2b9d8c0a5f3e1d2c4b6a8f0e9d7c5b3a1f2e4d6c8b0a9f7e5d3c1b2a";
const CHANNEL = "shandu-alliance";
const CHAINCODE = "shandu-outbox";

const message: Message = {
  version: 1,
  sourceChainId: 86031n,
  destinationChainId: 86755n,
  nonce: 9n,
  kind: MessageKind.app,
  sender: new Uint8Array(32).fill(7),
  recipient: new Uint8Array(20).fill(4),
  payload: new TextEncoder().encode("volunteer hours 3.5"),
  source: { blockNumber: 4242n, txHash: fabricTxHash(TX_ID), logIndex: 0 },
};
const ctx = (m: Message = message) => ({
  message: m,
  messageId: messageId(m),
  batch: {
    sourceChainId: m.sourceChainId,
    destinationChainId: m.destinationChainId,
    firstNonce: m.nonce,
    lastNonce: m.nonce,
    root: new Uint8Array(32),
  },
});

/** The ProposalResponsePayload the endorsing peers would sign, made by Fabric's generated encoder. */
function proposalResponsePayload(o: { payload?: Uint8Array; status?: number; txId?: string; chaincode?: string; eventName?: string } = {}) {
  const event = new peer.ChaincodeEvent();
  event.setChaincodeId(o.chaincode ?? CHAINCODE);
  event.setTxId(o.txId ?? TX_ID);
  event.setEventName(o.eventName ?? FABRIC_MESSAGE_EVENT);
  const encoding = encodeMessage(message);
  event.setPayload(o.payload ?? encoding.subarray(0, encoding.length - 44));
  const response = new peer.Response();
  response.setStatus(o.status ?? 200);
  response.setPayload(new TextEncoder().encode("ok"));
  const ccid = new peer.ChaincodeID();
  ccid.setName(o.chaincode ?? CHAINCODE);
  ccid.setVersion("1.0");
  const action = new peer.ChaincodeAction();
  action.setResults(new Uint8Array([0x0a, 0x03, 0x01, 0x02, 0x03])); // an opaque rw-set
  action.setEvents(event.serializeBinary());
  action.setResponse(response);
  action.setChaincodeId(ccid);
  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(new Uint8Array(32).fill(0xab));
  prp.setExtension$(action.serializeBinary());
  return prp.serializeBinary();
}

function identity(mspId: string, certPem: string): Uint8Array {
  const id = new msp.SerializedIdentity();
  id.setMspid(mspId);
  id.setIdBytes(new TextEncoder().encode(certPem));
  return id.serializeBinary();
}

/** An endorsement as the peer makes it: `protos.Endorsement`, its signature low-S DER over payload ‖ endorser. */
function endorse(prp: Uint8Array, mspId: string, org: Org, opts: { highS?: boolean } = {}) {
  const e = new peer.Endorsement();
  e.setEndorser(identity(mspId, org.peer.cert));
  const signed = new Uint8Array([...prp, ...e.getEndorser_asU8()]);
  let sig = p256.Signature.fromBytes(p256.sign(signed, fromHex(org.peer.key), { lowS: true, prehash: true, format: "compact" }), "compact");
  if (opts.highS) sig = new p256.Signature(sig.r, p256.Point.CURVE().n - sig.s);
  e.setSignature(sig.toBytes("der"));
  return { endorser: e.getEndorser_asU8(), signature: e.getSignature_asU8() };
}

function proof(
  over: Partial<FabricEndorsementProof> = {},
  signers: (keyof typeof ORGS)[] = ["Org1MSP", "Org2MSP"],
): FabricEndorsementProof {
  const prp = over.proposalResponsePayload ?? proposalResponsePayload();
  return {
    channel: CHANNEL,
    chaincode: CHAINCODE,
    txId: TX_ID,
    blockNumber: 4242n,
    validationCode: 0,
    proposalResponsePayload: prp,
    endorsements: signers.map((s) => endorse(prp, s, ORGS[s])),
    ...over,
  };
}

const verifier = (policy: FabricPolicy = TWO_OF_THREE, pins: { channel?: string; chaincode?: string } = {}) =>
  fabricEndorsementEvidenceVerifier({ msps: MSPS, policy, ...pins });

function outcome(ev: Evidence | FabricEndorsementProof, opts: { policy?: FabricPolicy; m?: Message } = {}): string {
  const evidence = "kind" in ev ? (ev as Evidence) : fabricEndorsementEvidence(ev as FabricEndorsementProof);
  try {
    return verifier(opts.policy).verify(evidence, ctx(opts.m));
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    return e.code;
  }
}

test("the protobuf reader reads what Fabric's encoder wrote", () => {
  const prp = proposalResponsePayload();
  const payload = readProto(prp, "ProposalResponsePayload", "FABRIC_PAYLOAD_INVALID");
  const official = peer.ProposalResponsePayload.deserializeBinary(prp);
  assert.deepEqual(payload.bytes(1, "proposal_hash"), official.getProposalHash_asU8());
  const action = readProto(payload.bytes(2, "extension"), "ChaincodeAction", "FABRIC_PAYLOAD_INVALID");
  const event = peer.ChaincodeEvent.deserializeBinary(action.bytes(2, "events"));
  assert.equal(event.getTxId(), TX_ID);
  assert.equal(readProto(action.bytes(3, "response"), "Response", "FABRIC_PAYLOAD_INVALID").int32(1, "status"), 200);
  // Negative int32 as protobuf writes it: ten-byte two's complement.
  const r = new peer.Response();
  r.setStatus(-5);
  assert.equal(readProto(r.serializeBinary(), "Response", "FABRIC_PAYLOAD_INVALID").int32(1, "status"), -5);
});

test("the protobuf reader refuses a varint past 64 bits", () => {
  // Field 2, length 2^64 + 3 in ten bytes: a reader that drops the high bits would take it as 3.
  const overlong = Uint8Array.of(0x12, 0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x61, 0x62, 0x63);
  assert.throws(
    () => readProto(overlong, "test", "FABRIC_PAYLOAD_INVALID"),
    (e: unknown) => e instanceof EvidenceError && /overflows 64 bits/.test(e.message),
  );
  // A full ten-byte varint whose last byte is 0x01 (2^64 − 1, an int32 −1 as protobuf writes it) is read.
  const max = Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
  assert.equal(readProto(max, "test", "FABRIC_PAYLOAD_INVALID").int32(1, "v"), -1);
});

test("validation code names match fabric-protos", () => {
  for (const [name, code] of Object.entries(peer.TxValidationCode)) assert.equal(fabricValidationCodeName(code as number), name);
});

test("valid evidence passes under a 2-of-3 policy and an AND policy, with pins", () => {
  assert.match(outcome(proof()), /endorsed by 2 identities of Org1MSP, Org2MSP satisfying 2-of\(Org1MSP, Org2MSP, Org3MSP\)/);
  assert.match(outcome(proof({}, ["Org2MSP", "Org3MSP"])), /Org2MSP, Org3MSP/);
  assert.match(outcome(proof(), { policy: AND_1_2 }), /satisfying AND\(Org1MSP, Org2MSP\).*not provable offline/);
  const pinned = verifier(TWO_OF_THREE, { channel: CHANNEL, chaincode: CHAINCODE });
  assert.match(pinned.verify(fabricEndorsementEvidence(proof()), ctx()), /\(pinned channel and chaincode\)/);
  // JSON round trip.
  const json = JSON.parse(JSON.stringify(fabricEndorsementEvidence(proof()))) as Evidence;
  assert.deepEqual(parseFabricEndorsementEvidence(json), proof());
});

test("only a peer's certificate endorses: a subject without the required OU fails, whatever its CA", () => {
  const evidence = fabricEndorsementEvidence(proof());
  // The test peers' certificates carry OU=peer (NodeOUs); require another role and they no longer count.
  const strict = fabricEndorsementEvidenceVerifier({ msps: MSPS, policy: TWO_OF_THREE, endorserOrganizationalUnit: "orderer" });
  assert.throws(
    () => strict.verify(evidence, ctx()),
    (e: unknown) => e instanceof EvidenceError && e.code === "FABRIC_ENDORSEMENT_INVALID" && /no OU=orderer/.test(e.message),
  );
  // Turned off (MSPs without NodeOUs), the CA alone decides.
  const loose = fabricEndorsementEvidenceVerifier({ msps: MSPS, policy: TWO_OF_THREE, endorserOrganizationalUnit: null });
  assert.match(loose.verify(evidence, ctx()), /endorsed by 2 identities/);
});

test("duplicate endorsements by one identity count once", () => {
  const p = proof({}, ["Org1MSP"]);
  const again = endorse(p.proposalResponsePayload, "Org1MSP", ORGS.Org1MSP);
  assert.equal(outcome({ ...p, endorsements: [...p.endorsements, again] }), "FABRIC_POLICY_NOT_SATISFIED");
});

test("forgeries fail with their codes", () => {
  const p = proof();
  // A forged signature: Org2's endorsement signed by Org3's peer key.
  const forged = endorse(p.proposalResponsePayload, "Org2MSP", {
    ca: "",
    peer: { cert: ORGS.Org2MSP.peer.cert, key: ORGS.Org3MSP.peer.key },
  });
  assert.equal(outcome({ ...p, endorsements: [p.endorsements[0]!, forged] }), "FABRIC_ENDORSEMENT_INVALID");
  // A signature over another payload.
  const other = endorse(proposalResponsePayload({ status: 201 }), "Org2MSP", ORGS.Org2MSP);
  assert.equal(outcome({ ...p, endorsements: [p.endorsements[0]!, other] }), "FABRIC_ENDORSEMENT_INVALID");
  // High S: the same signature with s → n − s verifies mathematically but Fabric refuses it.
  const high = endorse(p.proposalResponsePayload, "Org2MSP", ORGS.Org2MSP, { highS: true });
  assert.equal(outcome({ ...p, endorsements: [p.endorsements[0]!, high] }), "FABRIC_ENDORSEMENT_INVALID");
  // A certificate from a CA that copies Org1's CA name with another key.
  const rogue = endorse(p.proposalResponsePayload, "Org1MSP", vectors.rogue);
  assert.equal(outcome({ ...p, endorsements: [rogue, p.endorsements[1]!] }), "FABRIC_UNKNOWN_CA");
  // Org2's peer presenting itself as Org1MSP: its certificate chains to another MSP's root.
  const crossed = endorse(p.proposalResponsePayload, "Org1MSP", ORGS.Org2MSP);
  assert.equal(outcome({ ...p, endorsements: [crossed, p.endorsements[1]!] }), "FABRIC_UNKNOWN_CA");
  // An MSP with no pinned CA.
  const unknown = endorse(p.proposalResponsePayload, "Org9MSP", ORGS.Org1MSP);
  assert.equal(outcome({ ...p, endorsements: [unknown, p.endorsements[1]!] }), "FABRIC_UNKNOWN_CA");
  // Only one org signed.
  assert.equal(outcome(proof({}, ["Org1MSP"])), "FABRIC_POLICY_NOT_SATISFIED");
  assert.equal(outcome(proof({}, ["Org1MSP", "Org3MSP"]), { policy: AND_1_2 }), "FABRIC_POLICY_NOT_SATISFIED");
  assert.equal(outcome(proof({}, [])), "FABRIC_POLICY_NOT_SATISFIED");
  // Invalidated by the committing peer.
  assert.equal(outcome(proof({ validationCode: 11 })), "FABRIC_TX_INVALID");
});

test("an event that is not the message fails", () => {
  const changed = new TextEncoder().encode("volunteer hours 35.0");
  const m2: Message = { ...message, payload: changed };
  const e2 = encodeMessage(m2);
  // The endorsed payload is another message's fields 1–8.
  assert.equal(
    outcome(proof({ proposalResponsePayload: proposalResponsePayload({ payload: e2.subarray(0, e2.length - 44) }) })),
    "MESSAGE_MISMATCH",
  );
  // The message names another block, another transaction or another event index.
  assert.equal(outcome(proof({ blockNumber: 4243n })), "MESSAGE_MISMATCH");
  assert.equal(outcome(proof(), { m: { ...message, source: { ...message.source, logIndex: 1 } } }), "MESSAGE_MISMATCH");
  const otherTx = "00".repeat(32);
  assert.equal(outcome(proof({ txId: otherTx, proposalResponsePayload: proposalResponsePayload({ txId: otherTx }) })), "MESSAGE_MISMATCH");
  // The endorsed event is of another transaction, chaincode or name than the evidence states.
  assert.equal(outcome(proof({ proposalResponsePayload: proposalResponsePayload({ txId: otherTx }) })), "FABRIC_EVENT_MISMATCH");
  assert.equal(outcome(proof({ proposalResponsePayload: proposalResponsePayload({ eventName: "Other" }) })), "FABRIC_EVENT_MISMATCH");
  assert.equal(outcome(proof({ chaincode: "other" })), "FABRIC_CHAINCODE_MISMATCH");
  // The chaincode answered an error.
  assert.equal(outcome(proof({ proposalResponsePayload: proposalResponsePayload({ status: 500 }) })), "FABRIC_RESPONSE_FAILED");
  // Pins.
  const pinned = verifier(TWO_OF_THREE, { channel: "another", chaincode: CHAINCODE });
  assert.throws(() => pinned.verify(fabricEndorsementEvidence(proof()), ctx()), { code: "FABRIC_CHANNEL_MISMATCH" });
  const pinnedCc = verifier(TWO_OF_THREE, { chaincode: "another" });
  assert.throws(() => pinnedCc.verify(fabricEndorsementEvidence(proof()), ctx()), { code: "FABRIC_CHAINCODE_MISMATCH" });
});

test("payloads that are not a ProposalResponsePayload fail FABRIC_PAYLOAD_INVALID", () => {
  for (const bad of [
    new Uint8Array([0x0a, 0x05, 0x01]), // truncated field
    new Uint8Array([0x0b]), // group wire type
    new Uint8Array([0x0a, 0x20, ...new Uint8Array(32), 0x0a, 0x20, ...new Uint8Array(32)]), // proposal_hash twice
    new Uint8Array([0x0a, 0x01, 0x00]), // proposal_hash of 1 byte
  ]) {
    assert.equal(outcome(proof({ proposalResponsePayload: bad })), "FABRIC_PAYLOAD_INVALID");
  }
  // The endorser bytes are not a SerializedIdentity, or its id_bytes are not a certificate.
  const p = proof();
  const sig = p.endorsements[0]!.signature;
  assert.equal(outcome({ ...p, endorsements: [{ endorser: new Uint8Array([0x0a, 0x09]), signature: sig }] }), "FABRIC_ENDORSEMENT_INVALID");
  const notCert = identity("Org1MSP", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  assert.equal(outcome({ ...p, endorsements: [{ endorser: notCert, signature: sig }] }), "FABRIC_ENDORSEMENT_INVALID");
  assert.equal(
    outcome({ ...p, endorsements: [{ endorser: p.endorsements[0]!.endorser, signature: new Uint8Array([0x30, 0x00]) }] }),
    "FABRIC_ENDORSEMENT_INVALID",
  );
});

test("malformed evidence fails EVIDENCE_MALFORMED naming the member", () => {
  const good = fabricEndorsementEvidence(proof()) as Record<string, unknown>;
  const cases: [string, unknown][] = [
    ["kind", "fabric"],
    ["channel", 7],
    ["channel", ""],
    ["chaincode", null],
    ["txId", `0x${TX_ID}`],
    ["txId", TX_ID.toUpperCase()],
    ["blockNumber", 4242],
    ["validationCode", 256],
    ["validationCode", "0"],
    ["proposalResponsePayload", "abcd"],
    ["endorsements", {}],
  ];
  for (const [path, value] of cases) {
    try {
      verifier().verify({ ...good, [path]: value } as Evidence, ctx());
      assert.fail(`${path} = ${JSON.stringify(value)} passed`);
    } catch (e) {
      assert.ok(e instanceof EvidenceError && e.code === "EVIDENCE_MALFORMED", `${path}: ${String(e)}`);
      assert.equal(e.facts.path, path);
    }
  }
  const endorsements = good.endorsements as Record<string, unknown>[];
  for (const [member, value] of [
    ["endorser", "0x1"],
    ["signature", "0x" + "00".repeat(73)],
  ] as const) {
    const broken = { ...good, endorsements: [{ ...endorsements[0], [member]: value }] } as unknown as Evidence;
    assert.throws(() => verifier().verify(broken, ctx()), { code: "EVIDENCE_MALFORMED" });
  }
  assert.throws(() => verifier().verify({ ...good, endorsements: ["0x00"] } as unknown as Evidence, ctx()), { code: "EVIDENCE_MALFORMED" });
});

test("the verifier's pins are checked when it is made", () => {
  assert.throws(() => fabricEndorsementEvidenceVerifier({ msps: { Org1MSP: ["not a pem"] }, policy: { signedBy: "Org1MSP" } }), CodecError);
  assert.throws(() => fabricEndorsementEvidenceVerifier({ msps: MSPS, policy: { signedBy: "Org9MSP" } }), { code: "VALUE_OUT_OF_RANGE" });
  assert.throws(() => fabricEndorsementEvidenceVerifier({ msps: MSPS, policy: { outOf: 0, rules: [] } }), { code: "VALUE_OUT_OF_RANGE" });
  assert.throws(() => fabricEndorsementEvidenceVerifier({ msps: MSPS, policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }] } }), {
    code: "VALUE_OUT_OF_RANGE",
  });
});
