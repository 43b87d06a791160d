/**
 * Generates the shared test vectors (`test/vectors/*.json`) and the example bundles
 * (`test/examples/{valid,tampered}/`) from fixed seeds. Every implementation of the protocol —
 * TypeScript here, the Solidity verifier and the chaincode later — must reproduce the positive cases
 * byte for byte and fail each negative case with the stated error code.
 *
 * The expected outcome of every negative case is written here by intent (what the case is built to
 * break), and generation stops if this implementation disagrees. `--check` regenerates in memory and
 * fails if the committed files differ.
 *
 *   npm run vectors            # rewrite the files
 *   npm run vectors -- --check # verify the committed files are current
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  attestationToJson,
  type BatchHeader,
  batchSigningRoot,
  batchToJson,
  buildBatch,
  bundleFor,
  bundleToJson,
  type Committee,
  committeeSetHash,
  committeeToJson,
  encodeAttestation,
  encodeCommittee,
  encodeMessage,
  type Json,
  loadBls,
  MerkleTree,
  type Message,
  MessageKind,
  messageId,
  messageToJson,
  type ProofBundle,
  type RotationRecord,
  rotationSigningRoot,
  rotationToJson,
  sha256,
  toHex,
} from "../src/mod.ts";
import { attestBatch, pilotCommittee, rotate, signAs, type TestCommittee } from "../src/testing/mod.ts";
import { rogueKeyOf } from "./rogue.ts";
import { evaluateCase } from "./vector-cases.ts";

const here = dirname(fileURLToPath(import.meta.url));
const bls = await loadBls("blst");
const utf8 = (s: string) => new TextEncoder().encode(s);
const h32 = (label: string) => sha256(utf8(label));

export const CHAIN = { shanghaiLowcarbon: 1001n, shenzhenWelfare: 2002n, hangzhouHealth: 3003n } as const;

function msg(nonce: bigint, payload: Uint8Array, over: Partial<Message> = {}): Message {
  return {
    version: 1,
    sourceChainId: CHAIN.shanghaiLowcarbon,
    destinationChainId: CHAIN.shenzhenWelfare,
    nonce,
    kind: MessageKind.app,
    sender: h32("redemption-app").subarray(0, 20),
    recipient: h32("welfare-inbox-app").subarray(0, 20),
    payload,
    source: { blockNumber: 1200n + nonce, txHash: h32(`tx-${nonce}`), logIndex: Number(nonce % 3n) },
    ...over,
  };
}

// ---------------------------------------------------------------- messages
function messageVectors(): unknown {
  const valid = [
    { name: "app-empty-payload", m: msg(0n, new Uint8Array(0)) },
    { name: "app-redemption", m: msg(7n, utf8('{"redeem":120,"unit":"credit","merchant":"sz-0042"}')) },
    {
      name: "governance-max-fields",
      m: msg(18446744073709551615n, new Uint8Array(65_536).fill(0xab), {
        kind: MessageKind.governance,
        sender: new Uint8Array(64).fill(1),
        recipient: new Uint8Array(64).fill(2),
        sourceChainId: 18446744073709551615n,
        destinationChainId: 0n,
        source: { blockNumber: 18446744073709551615n, txHash: new Uint8Array(32).fill(0xff), logIndex: 0xffff_ffff },
      }),
    },
  ].map(({ name, m }) => ({ name, message: messageToJson(m), encoding: toHex(encodeMessage(m)), messageId: toHex(messageId(m)) }));
  const base = encodeMessage(msg(7n, utf8("x")));
  const bad = (name: string, bytes: Uint8Array, code: string) => ({ name, encoding: toHex(bytes), error: code });
  const withByte = (i: number, v: number) => {
    const b = base.slice();
    b[i] = v;
    return b;
  };
  // Offsets: version 0, source 1..8, destination 9..16, nonce 17..24, kind 25, sender length 26.
  const oversizeSender = new Uint8Array([...base.subarray(0, 26), 65, ...new Uint8Array(65), ...base.subarray(47)]);
  const payloadLenAt = 26 + 1 + 20 + 1 + 20;
  const oversizePayload = base.slice();
  new DataView(oversizePayload.buffer).setUint32(payloadLenAt, 65_537);
  const invalid = [
    bad("empty", new Uint8Array(0), "TRUNCATED"),
    bad("unknown-version-0", withByte(0, 0), "UNKNOWN_VERSION"),
    bad("unknown-version-2", withByte(0, 2), "UNKNOWN_VERSION"),
    bad("unknown-kind-0", withByte(25, 0), "UNKNOWN_KIND"),
    bad("unknown-kind-3", withByte(25, 3), "UNKNOWN_KIND"),
    bad("trailing-byte", new Uint8Array([...base, 0]), "TRAILING_BYTES"),
    bad("truncated-last-byte", base.subarray(0, base.length - 1), "TRUNCATED"),
    bad("sender-longer-than-64", oversizeSender, "FIELD_TOO_LONG"),
    bad("payload-longer-than-65536", oversizePayload, "FIELD_TOO_LONG"),
  ];
  return { description: "Canonical message encodings and ids; invalid encodings with the decoder's error code", valid, invalid };
}

// ---------------------------------------------------------------- merkle
function merkleVectors(): unknown {
  const trees = [1, 2, 3, 5, 7, 8, 13].map((n) => {
    const leaves = Array.from({ length: n }, (_, i) => h32(`leaf-${n}-${i}`));
    const tree = MerkleTree.fromLeaves(leaves);
    const sets = [[0], [n - 1], n > 2 ? [1, n - 1] : [0], Array.from({ length: n }, (_, i) => i)];
    const proofs = sets.map((indices) => {
      const p = tree.prove(indices);
      return { indices, siblings: p.siblings.map(toHex) };
    });
    return { leaves: leaves.map(toHex), root: toHex(tree.root), proofs };
  });
  const leaves = Array.from({ length: 5 }, (_, i) => h32(`leaf-5-${i}`));
  const tree = MerkleTree.fromLeaves(leaves);
  const p = tree.prove([2]);
  const sib = p.siblings.map(toHex);
  const flipped = p.siblings.map((s) => s.slice());
  flipped[0]![0]! ^= 1;
  const invalid = [
    {
      name: "flipped-sibling",
      treeSize: 5,
      indices: [2],
      leaves: [toHex(leaves[2]!)],
      siblings: flipped.map(toHex),
      error: "ROOT_MISMATCH",
    },
    { name: "wrong-index", treeSize: 5, indices: [3], leaves: [toHex(leaves[2]!)], siblings: sib, error: "ROOT_MISMATCH" },
    {
      name: "extra-sibling",
      treeSize: 5,
      indices: [2],
      leaves: [toHex(leaves[2]!)],
      siblings: [...sib, toHex(h32("x"))],
      error: "PROOF_TOO_LONG",
    },
    {
      name: "missing-sibling",
      treeSize: 5,
      indices: [2],
      leaves: [toHex(leaves[2]!)],
      siblings: sib.slice(0, -1),
      error: "PROOF_TOO_SHORT",
    },
    { name: "index-outside-tree", treeSize: 5, indices: [5], leaves: [toHex(leaves[2]!)], siblings: sib, error: "INDEX_OUT_OF_RANGE" },
    {
      name: "indices-not-increasing",
      treeSize: 5,
      indices: [3, 2],
      leaves: [toHex(leaves[3]!), toHex(leaves[2]!)],
      siblings: sib,
      error: "INDICES_NOT_SORTED",
    },
    { name: "empty-tree", treeSize: 0, indices: [0], leaves: [toHex(leaves[0]!)], siblings: [], error: "EMPTY_TREE" },
    {
      // A node presented as a leaf: the leaf prefix makes it hash differently.
      name: "inner-node-as-leaf",
      treeSize: 2,
      indices: [0],
      leaves: [toHex(MerkleTree.fromLeaves(leaves.slice(0, 2)).root)],
      siblings: [toHex(MerkleTree.fromLeaves(leaves.slice(2, 3)).root)],
      root: toHex(MerkleTree.fromLeaves(leaves.slice(0, 3)).root),
      error: "ROOT_MISMATCH",
    },
  ].map((c) => ({ root: toHex(tree.root), ...c }));
  return {
    description: "Batch trees (leaf = SHA-256(0x00‖id), node = SHA-256(0x01‖l‖r), odd node carried up) with proofs; tampered proofs",
    trees,
    invalid,
  };
}

// ---------------------------------------------------------------- committees, attestations, rotations
const pilot = pilotCommittee(bls, "vectors");
const attacker = pilotCommittee(bls, "attacker");

function committeeVectors(): unknown {
  const c = pilot.committee;
  const valid = [
    { name: "pilot", committee: committeeToJson(c), encoding: toHex(encodeCommittee(c)), committeeSetHash: toHex(committeeSetHash(c)) },
  ];
  const mutate = (name: string, error: string, f: (c: Committee) => void) => {
    const copy = structuredClone(c);
    f(copy);
    return { name, committee: committeeToJson(copy), error };
  };
  // Rogue key: pk_r = x·g1 − (pk_shenzhen + pk_regulator), claimed with no valid proof of possession.
  const rogue = rogueKeyOf(c.members[1]!.blsPublicKey, c.members[3]!.blsPublicKey);
  const invalid = [
    mutate("pop-of-another-member", "INVALID_PROOF_OF_POSSESSION", (x) => {
      x.members[0]!.proofOfPossession = x.members[1]!.proofOfPossession;
    }),
    mutate("rogue-key-without-pop", "INVALID_PROOF_OF_POSSESSION", (x) => {
      x.members[0]!.blsPublicKey = rogue.publicKey;
    }),
    mutate("infinity-public-key", "INVALID_MEMBER_KEY", (x) => {
      x.members[0]!.blsPublicKey = new Uint8Array([0xc0, ...new Uint8Array(47)]);
    }),
    mutate("duplicate-member-id", "DUPLICATE_MEMBER_ID", (x) => {
      x.members[1]!.id = x.members[0]!.id;
    }),
    mutate("duplicate-public-key", "DUPLICATE_PUBLIC_KEY", (x) => {
      x.members[1]!.blsPublicKey = x.members[0]!.blsPublicKey;
      x.members[1]!.proofOfPossession = x.members[0]!.proofOfPossession;
    }),
    mutate("threshold-one-half", "INVALID_THRESHOLD", (x) => {
      x.policy.threshold = { numerator: 1, denominator: 2 };
    }),
    mutate("threshold-above-one", "INVALID_THRESHOLD", (x) => {
      x.policy.threshold = { numerator: 4, denominator: 3 };
    }),
    mutate("rule-for-unknown-group", "UNKNOWN_GROUP", (x) => {
      x.policy.groups.push({ group: "nobody", minSigners: 1 });
    }),
    mutate("rule-needs-more-than-group", "POLICY_UNSATISFIABLE", (x) => {
      x.policy.groups[0]!.minSigners = 2;
    }),
    { name: "empty", committee: { ...(committeeToJson(c) as Record<string, Json>), members: [] }, error: "EMPTY_COMMITTEE" },
  ];
  return {
    description: "Committees, their canonical encoding and committeeSetHash; invalid committees with the error code",
    valid,
    invalid,
  };
}

const header = (first: bigint, n: number, root: Uint8Array, over: Partial<BatchHeader> = {}): BatchHeader => ({
  sourceChainId: CHAIN.shanghaiLowcarbon,
  destinationChainId: CHAIN.shenzhenWelfare,
  firstNonce: first,
  lastNonce: first + BigInt(n - 1),
  root,
  ...over,
});

function attestationVectors(): unknown {
  const c = pilot.committee;
  const hash = committeeSetHash(c);
  const hdr = header(100n, 16, h32("batch-root-100"));
  const root = batchSigningRoot(hash, c.epoch, hdr);
  const all = [0, 1, 2, 3];
  const caseOf = (name: string, att: ReturnType<typeof signAs>, expect: Json, over: { header?: BatchHeader } = {}) => {
    const hh = over.header ?? hdr;
    return {
      name,
      header: batchToJson(hh),
      signingRoot: toHex(batchSigningRoot(hash, c.epoch, hh)),
      attestation: attestationToJson(att),
      attestationEncoding: toHex(encodeAttestation(att)),
      expect,
    };
  };
  const good = signAs(bls, pilot, [0, 1, 3], root);
  // The rogue key is not a member (its registration is refused), so the verifier aggregates the real keys.
  const rogue = rogueKeyOf(c.members[1]!.blsPublicKey, c.members[3]!.blsPublicKey);
  const cases = [
    caseOf("quorum-3-of-4", good, { ok: true, signers: ["shanghai-lowcarbon", "shenzhen-welfare", "regulator"] }),
    caseOf("all-4", signAs(bls, pilot, all, root), { ok: true, signers: c.members.map((m) => m.id) }),
    caseOf("weight-short-2-of-4", signAs(bls, pilot, [0, 3], root), { error: "QUORUM_WEIGHT_NOT_MET" }),
    caseOf("regulator-missing", signAs(bls, pilot, [0, 1, 2], root), { error: "QUORUM_GROUP_NOT_MET" }),
    caseOf("empty-signer-set", { ...good, signers: new Uint8Array(1) }, { error: "EMPTY_SIGNER_SET" }),
    caseOf("bit-past-last-member", { ...good, signers: new Uint8Array([0b0001_1011]) }, { error: "BITFIELD_TRAILING_BITS" }),
    caseOf("bitfield-too-long", { ...good, signers: new Uint8Array([0b1011, 0]) }, { error: "BITFIELD_LENGTH" }),
    caseOf("signer-bit-added", { ...good, signers: new Uint8Array([0b1111]) }, { error: "BAD_SIGNATURE" }),
    caseOf("signature-over-other-root", signAs(bls, pilot, [0, 1, 3], h32("other")), { error: "BAD_SIGNATURE" }),
    caseOf("wrong-destination-chain", good, { error: "BAD_SIGNATURE" }, { header: { ...hdr, destinationChainId: CHAIN.hangzhouHealth } }),
    caseOf("wrong-nonce-range", good, { error: "BAD_SIGNATURE" }, { header: { ...hdr, lastNonce: hdr.lastNonce + 1n } }),
    caseOf(
      "infinity-signature",
      { ...good, signature: new Uint8Array([0xc0, ...new Uint8Array(95)]) },
      { error: "INVALID_SIGNATURE_ENCODING" },
    ),
    caseOf(
      "signature-not-on-curve",
      { ...good, signature: new Uint8Array([0x80 | 0x1f, ...new Uint8Array(95).fill(0xff)]) },
      { error: "INVALID_SIGNATURE_ENCODING" },
    ),
    caseOf("wrong-epoch", { ...good, epoch: 1n }, { error: "EPOCH_MISMATCH" }),
    caseOf(
      "wrong-committee-hash",
      { ...good, committeeSetHash: committeeSetHash(attacker.committee) },
      { error: "COMMITTEE_HASH_MISMATCH" },
    ),
    caseOf("signed-by-another-committee", signAs(bls, attacker, [0, 1, 3], root), { error: "COMMITTEE_HASH_MISMATCH" }),
    caseOf(
      "another-committees-signature-under-our-hash",
      { ...signAs(bls, attacker, [0, 1, 3], root), committeeSetHash: hash },
      { error: "BAD_SIGNATURE" },
    ),
    caseOf(
      // σ = x·H(m) would verify if the rogue key had replaced member 0 (pk_r + pk_1 + pk_3 = x·g1); it did not.
      "rogue-key-forgery-needs-registered-key",
      { ...good, signers: new Uint8Array([0b1011]), signature: rogue.forge(root) },
      { error: "BAD_SIGNATURE" },
    ),
  ];
  return {
    description: "Batch attestations against the committee in committees.json#valid[0]; each case's expect is ok+signers or the error code",
    committee: committeeToJson(c),
    committeeSetHash: toHex(hash),
    cases,
  };
}

function rotationVectors(): { json: unknown; epoch1: TestCommittee; chain: RotationRecord[] } {
  const epoch1 = pilotCommittee(bls, "vectors-epoch-1", 1n);
  const epoch2 = pilotCommittee(bls, "vectors-epoch-2", 2n);
  const r01 = rotate(bls, pilot, [0, 1, 3], epoch1.committee, 1_767_225_600n, 86_400);
  const r12 = rotate(bls, epoch1, [0, 1, 2, 3], epoch2.committee, 1_798_761_600n, 3_600);
  const attackerE1 = pilotCommittee(bls, "attacker", 1n);
  const forged = rotate(bls, attacker, [0, 1, 3], attackerE1.committee, 1_767_225_600n, 86_400);
  const chains = [
    { name: "two-rotations", rotations: [r01, r12], expect: { ok: true, latestEpoch: "2" } },
    { name: "no-rotations", rotations: [], expect: { ok: true, latestEpoch: "0" } },
    {
      name: "rotation-signed-by-attacker",
      rotations: [{ ...forged, fromCommitteeSetHash: committeeSetHash(pilot.committee) }],
      expect: { error: "ROTATION_NOT_ATTESTED" },
    },
    { name: "rotation-from-wrong-parent", rotations: [forged], expect: { error: "ROTATION_PARENT_MISMATCH" } },
    { name: "skips-an-epoch", rotations: [r12], expect: { error: "ROTATION_EPOCH_GAP" } },
    {
      name: "under-quorum",
      rotations: [rotate(bls, pilot, [0, 3], epoch1.committee, 1_767_225_600n, 86_400)],
      expect: { error: "ROTATION_NOT_ATTESTED" },
    },
    {
      name: "activation-goes-back-in-time",
      rotations: [r01, rotate(bls, epoch1, [0, 1, 3], epoch2.committee, 1_700_000_000n, 3_600)],
      expect: { error: "ROTATION_TIME_NOT_MONOTONIC" },
    },
    {
      name: "grace-period-tampered",
      rotations: [{ ...r01, graceSeconds: 10 * 365 * 86_400 }],
      expect: { error: "ROTATION_NOT_ATTESTED" },
    },
  ].map((c) => ({ name: c.name, rotations: c.rotations.map(rotationToJson), expect: c.expect }));
  // Which epochs are acceptable at a given time, on the two-rotation chain.
  const clock = [
    { epoch: "0", nowSeconds: "1767225599", expect: { ok: true } },
    { epoch: "0", nowSeconds: "1767311999", expect: { ok: true } },
    { epoch: "0", nowSeconds: "1767312000", expect: { error: "EPOCH_EXPIRED" } },
    { epoch: "1", nowSeconds: "1767225599", expect: { error: "EPOCH_NOT_YET_ACTIVE" } },
    { epoch: "1", nowSeconds: "1798765199", expect: { ok: true } },
    { epoch: "1", nowSeconds: "1798765200", expect: { error: "EPOCH_EXPIRED" } },
    { epoch: "0", nowSeconds: "1798761600", expect: { error: "EPOCH_EXPIRED" } },
    { epoch: "2", nowSeconds: "1798761600", expect: { ok: true } },
    { epoch: "3", nowSeconds: "1898761600", expect: { error: "EPOCH_NOT_IN_CHAIN" } },
  ];
  const signingRoot = toHex(
    rotationSigningRoot(
      committeeSetHash(pilot.committee),
      0n,
      committeeSetHash(epoch1.committee),
      1n,
      r01.activatesAtSeconds,
      r01.graceSeconds,
    ),
  );
  return {
    json: {
      description: "Committee rotation chains from the genesis in committees.json#valid[0]; clock cases run on the two-rotation chain",
      genesis: committeeToJson(pilot.committee),
      firstRotationSigningRoot: signingRoot,
      chains,
      clock,
    },
    epoch1,
    chain: [r01],
  };
}

// ---------------------------------------------------------------- bundles and examples
interface Example {
  file: string;
  bundle: Json;
  expect: { ok: boolean; failedStep?: string; code?: string; notChecked?: string[] };
  what: string;
}

function examples(epoch1: TestCommittee, rotations: RotationRecord[]): { valid: Example[]; tampered: Example[] } {
  const genesis = pilot.committee;
  const commitment = h32("regulator-envelope:trip-2026-11-02-0815");
  const payload = (i: number) =>
    new Uint8Array([...commitment, ...utf8(JSON.stringify({ op: "redeem", lock: `lock-${i}`, credits: 40 + i, merchant: "sz-0042" }))]);
  const batchA = buildBatch(Array.from({ length: 6 }, (_, i) => msg(200n + BigInt(i), payload(i))));
  const attA = attestBatch(bls, pilot, [0, 1, 3], batchA.header);
  const envelope = { commitment, payloadOffset: 0, scheme: "hpke-base-x25519-sha256-aes128gcm" };
  const chain0 = { genesis, rotations: [] };
  const chain1 = { genesis, rotations };
  const batchB = buildBatch(Array.from({ length: 3 }, (_, i) => msg(206n + BigInt(i), payload(10 + i))));
  const attB = attestBatch(bls, epoch1, [0, 1, 2, 3], batchB.header);
  const J = (b: ProofBundle) => bundleToJson(b);
  const v = (file: string, b: ProofBundle, what: string, notChecked: string[] = ["source-evidence", "destination-evidence"]): Example => ({
    file,
    bundle: J(b),
    expect: { ok: true, notChecked },
    what,
  });
  const base = bundleFor(batchA, 2, attA, chain0, { regulatorEnvelope: envelope });
  const valid: Example[] = [
    v(
      "redemption-lock-0200.json",
      bundleFor(batchA, 0, attA, chain0, { regulatorEnvelope: envelope }),
      "first message of a 6-message batch, epoch 0",
    ),
    v("redemption-lock-0202.json", base, "middle message of the same batch (shares the attestation)"),
    v(
      "redemption-lock-0205.json",
      bundleFor(batchA, 5, attA, chain0, { regulatorEnvelope: envelope }),
      "last message (odd node carried up)",
    ),
    v(
      "after-rotation-0207.json",
      bundleFor(batchB, 1, attB, chain1, { regulatorEnvelope: envelope }),
      "attested by the epoch-1 committee; carries the rotation from genesis",
    ),
    v(
      "with-unverified-evidence-0203.json",
      bundleFor(batchA, 3, attA, chain0, {
        regulatorEnvelope: envelope,
        sourceEvidence: { kind: "fabric-endorsement", note: "checked by a Fabric evidence verifier, which this verifier does not have" },
      }),
      "source evidence of a kind this verifier has no checker for: reported not checked, never passed",
    ),
  ];
  const t = (file: string, b: ProofBundle | Json, failedStep: string, code: string, what: string): Example => ({
    file,
    bundle:
      "version" in (b as object) &&
      typeof (b as ProofBundle).version === "number" &&
      "message" in (b as object) &&
      !("format" in (b as object))
        ? J(b as ProofBundle)
        : (b as Json),
    expect: { ok: false, failedStep, code },
    what,
  });
  const otherPayload = new Uint8Array([...commitment, ...utf8('{"op":"redeem","lock":"lock-2","credits":4000,"merchant":"sz-0042"}')]);
  const forgedMsg = { ...base.message, payload: otherPayload };
  const attackerE1 = pilotCommittee(bls, "attacker", 1n);
  const forgedRotation = {
    ...rotate(bls, attacker, [0, 1, 3], attackerE1.committee, 0n, 3600),
    fromCommitteeSetHash: committeeSetHash(genesis),
  };
  const batchForged = buildBatch([{ ...base.message, payload: otherPayload }]);
  const replayMsg = { ...base.message, destinationChainId: CHAIN.hangzhouHealth };
  const outside = { ...base.message, nonce: 250n };
  const wrongRoot = signAs(bls, pilot, [0, 1, 3], h32("another batch"));
  const tampered: Example[] = [
    t(
      "payload-changed.json",
      { ...base, message: forgedMsg },
      "message",
      "MESSAGE_ID_MISMATCH",
      "credits changed from 42 to 4000, stated messageId kept",
    ),
    t(
      "payload-changed-id-recomputed.json",
      { ...base, message: forgedMsg, messageId: messageId(forgedMsg) },
      "inclusion",
      "ROOT_MISMATCH",
      "credits changed and messageId recomputed: no longer in the attested batch",
    ),
    t(
      "signature-replaced.json",
      { ...base, attestation: { ...attA, signature: wrongRoot.signature } },
      "attestation",
      "BAD_SIGNATURE",
      "aggregate signature taken from another batch",
    ),
    t(
      "signature-infinity.json",
      { ...base, attestation: { ...attA, signature: new Uint8Array([0xc0, ...new Uint8Array(95)]) } },
      "attestation",
      "INVALID_SIGNATURE_ENCODING",
      "signature replaced by the point at infinity",
    ),
    t(
      "regulator-dropped.json",
      { ...base, attestation: { ...attA, signers: new Uint8Array([0b0011]) } },
      "attestation",
      "QUORUM_WEIGHT_NOT_MET",
      "regulator's bit cleared from the signer bitfield",
    ),
    t(
      "forged-genesis.json",
      {
        ...bundleFor(batchForged, 0, attestBatch(bls, attacker, [0, 1, 3], batchForged.header), {
          genesis: attacker.committee,
          rotations: [],
        }),
      },
      "trust-anchor",
      "GENESIS_MISMATCH",
      "self-consistent bundle signed by a committee the verifier does not trust",
    ),
    t(
      "forged-rotation.json",
      {
        ...bundleFor(batchForged, 0, attestBatch(bls, attackerE1, [0, 1, 3], batchForged.header), { genesis, rotations: [forgedRotation] }),
      },
      "committee-chain",
      "ROTATION_NOT_ATTESTED",
      "rotation to an attacker committee that the genesis committee never signed",
    ),
    t(
      "replayed-to-other-chain.json",
      { ...base, message: replayMsg, messageId: messageId(replayMsg) },
      "inclusion",
      "LANE_MISMATCH",
      "destination chain changed to 3003 (replay onto another chain)",
    ),
    t(
      "nonce-outside-batch.json",
      { ...base, message: outside, messageId: messageId(outside) },
      "inclusion",
      "NONCE_OUT_OF_RANGE",
      "nonce moved outside the attested range",
    ),
    t(
      "batch-range-stretched.json",
      { ...base, batch: { ...base.batch, lastNonce: base.batch.lastNonce + 1n } },
      "inclusion",
      "INCLUSION_FAILED",
      "attested nonce range stretched by one",
    ),
    t(
      "envelope-not-bound.json",
      { ...base, regulatorEnvelope: { ...envelope, commitment: h32("some other envelope") } },
      "regulator-envelope",
      "ENVELOPE_NOT_BOUND",
      "regulator envelope commitment that is not in the signed payload",
    ),
    t("not-a-bundle.json", { hello: "world" }, "format", "NOT_A_BUNDLE", "a JSON file that is not a proof bundle"),
  ];
  return { valid, tampered };
}

// ---------------------------------------------------------------- write
const { json: rotationsJson, epoch1, chain } = rotationVectors();
const ex = examples(epoch1, chain);
const files: Record<string, unknown> = {
  "vectors/messages.json": messageVectors(),
  "vectors/merkle.json": merkleVectors(),
  "vectors/committees.json": committeeVectors(),
  "vectors/attestations.json": attestationVectors(),
  "vectors/rotations.json": rotationsJson,
  "vectors/bundles.json": {
    description: "Proof bundles checked against the trusted genesis committees.json#valid[0]; expect.failedStep/code for tampered ones",
    genesis: committeeToJson(pilot.committee),
    cases: [...ex.valid, ...ex.tampered].map((e) => ({
      name: e.file.replace(/\.json$/, ""),
      what: e.what,
      bundle: e.bundle,
      expect: e.expect,
    })),
  },
};
for (const dir of ["valid", "tampered"] as const) {
  files[`examples/${dir}/genesis.json`] = committeeToJson(pilot.committee);
  for (const e of ex[dir]) files[`examples/${dir}/${e.file}`] = e.bundle;
}

// Every case must come out as intended before anything is written.
const mismatches = await evaluateAll(files);
if (mismatches.length) {
  console.error(`vector generation stopped: ${mismatches.length} case(s) do not behave as intended:\n${mismatches.join("\n")}`);
  process.exit(1);
}

const check = process.argv.includes("--check");
let stale = 0;
for (const [rel, value] of Object.entries(files)) {
  const path = join(here, rel);
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (check) {
    let old = "";
    try {
      old = readFileSync(path, "utf8");
    } catch {}
    if (old !== text) {
      stale++;
      console.error(`stale: ${rel}`);
    }
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
if (check && stale) {
  console.error("run `npm run vectors` and commit the result");
  process.exit(1);
}
if (!check) {
  for (const dir of ["valid", "tampered"]) rmSync(join(here, `examples/${dir}/.keep`), { force: true });
  console.log(`wrote ${Object.keys(files).length} files under ${here}`);
}

async function evaluateAll(f: Record<string, unknown>): Promise<string[]> {
  const out: string[] = [];
  for (const [rel, value] of Object.entries(f)) {
    if (!rel.startsWith("vectors/")) continue;
    for (const problem of await evaluateCase(rel.slice("vectors/".length), value as Json, bls)) out.push(`${rel}: ${problem}`);
  }
  return out;
}
