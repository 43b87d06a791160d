/**
 * `ShanduNativeInbox` (deploy/contracts/fisco, built for Paris) on a real anvil node: native k-of-n
 * co-signatures (proofs/src/native.ts) instead of a BLS aggregate, with the same delivery, replay,
 * governance and rotation behaviour as `ShanduInbox`. secp256k1 throughout; SM2 through
 * `FiscoCryptoPrecompileDouble`, the test double of FISCO's `CryptoPrecompiled` installed at 0x100a, and
 * with no precompile at all. Anvil counts block time in seconds, so most inboxes here are deployed with
 * `timestampUnitsPerSecond = 1`; one runs with FISCO's 1000 to show the division.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import {
  type BatchHeader,
  type Bls,
  batchSigningRoot,
  buildBatch,
  type Committee,
  committeeSetHash,
  concatBytes,
  deliveryOutcome,
  encodeCommittee,
  encodeMessage,
  fromHex,
  loadBls,
  type Message,
  MessageKind,
  type NativeAttestation,
  type NativeKeySchemeName,
  rotationSigningRoot,
  toHex,
} from "@shandu/proofs";
import { laneMessage, makeTestCommittee, PILOT_POLICY, pilotCommittee, signNativeAs, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getAddress, getBytes, Interface } from "ethers";
import {
  decodeRejection,
  FISCO_CRYPTO_PRECOMPILE,
  governancePayload,
  loadArtifact,
  type NativeInboxDeployment,
  nativeAttestationArgs,
  nativeCommitteeInput,
  nativeDeliverArgs,
  nativeInboxDeployArgs,
  nativeRotateArgs,
  SM2_VERIFY_SELECTOR,
} from "../src/mod.ts";

const SRC = 1001n;
const DST = 2002n;
const SECP_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const inboxInterface = new Interface(loadArtifact("ShanduNativeInbox").abi);

/** The inbox's refusal code in an ethers error (`ROTATION_NOT_ATTESTED:<code>` for a rotation's attestation). */
function codeOf(err: unknown): string {
  const e = err as { data?: string; info?: { error?: { data?: string } } };
  const r = decodeRejection(e.data ?? e.info?.error?.data ?? "0x");
  if (!r) return `(not a refusal: ${(err as Error).message})`;
  return r.rotation ? `ROTATION_NOT_ATTESTED:${r.code}` : r.code;
}

const rejectsWith = (p: Promise<unknown>, code: string) =>
  assert.rejects(p, (err: unknown) => codeOf(err) === code || assert.fail(`expected ${code}, got ${codeOf(err)}`));

/** The committee of `tc` with member `i`'s native keys replaced (none, or the ones given). */
function withKeys(tc: TestCommittee, keys: Record<number, Committee["members"][number]["nativeKeys"]>): TestCommittee {
  const committee = structuredClone(tc.committee);
  for (const [i, k] of Object.entries(keys)) committee.members[Number(i)]!.nativeKeys = k;
  return { ...tc, committee };
}

/** Runtime code without the CBOR metadata solc appends (its length is in the last two bytes). */
function codeWithoutMetadata(hex: string): Uint8Array {
  const code = getBytes(hex);
  const meta = (code[code.length - 2]! << 8) | code[code.length - 1]!;
  return code.subarray(0, code.length - meta - 2);
}

/** Opcodes newer than Paris found in `code`: PUSH0 (0x5f), TLOAD (0x5c), TSTORE (0x5d), MCOPY (0x5e), BLOBHASH (0x49), BLOBBASEFEE (0x4a). */
function postParisOpcodes(code: Uint8Array): number[] {
  const found = new Set<number>();
  for (let i = 0; i < code.length; i++) {
    const op = code[i]!;
    if (op >= 0x60 && op <= 0x7f) i += op - 0x5f;
    else if ([0x5f, 0x5c, 0x5d, 0x5e, 0x49, 0x4a].includes(op)) found.add(op);
  }
  return [...found];
}

describe("ShanduNativeInbox on anvil", { timeout: 300_000 }, () => {
  let bls: Bls;
  let node: AnvilNode;
  let tc: TestCommittee;
  let recipient: string;
  let recorder: Contract;

  before(async () => {
    bls = await loadBls();
    node = await startAnvil();
    tc = pilotCommittee(bls, "native-inbox", 0n, ["secp256k1", "sm2"]);
    recorder = await deployContract(node.wallet(0), "RecordingReceiver", []);
    recipient = await recorder.getAddress();
  });
  after(async () => {
    await node?.close();
  });

  const governor = () => node.wallet(5).address;
  const deploy = (d: Partial<NativeInboxDeployment> = {}) =>
    deployContract(
      node.wallet(0),
      "ShanduNativeInbox",
      nativeInboxDeployArgs({
        chainId: DST,
        scheme: "secp256k1",
        committee: tc.committee,
        timestampUnitsPerSecond: 1,
        governance: [{ chainId: SRC, sender: governor() }],
        ...d,
      }),
    );

  const messages = (nonces: bigint[], to = recipient, over: Partial<Message> = {}): Message[] =>
    nonces.map((n) => ({ ...laneMessage(SRC, DST, n), recipient: getBytes(to), ...over }));

  function attest(header: BatchHeader, signers: number[], committee = tc, scheme: NativeKeySchemeName = "secp256k1"): NativeAttestation {
    const root = batchSigningRoot(committeeSetHash(committee.committee), committee.committee.epoch, header);
    return signNativeAs(committee, scheme, signers, root);
  }

  function args(
    all: Message[],
    opts: { subset?: number[]; signers?: number[]; committee?: TestCommittee; scheme?: NativeKeySchemeName } = {},
  ) {
    const batch = buildBatch(all);
    const subset = opts.subset ?? all.map((_, i) => i);
    return nativeDeliverArgs({
      header: batch.header,
      attestation: attest(batch.header, opts.signers ?? [0, 1, 3], opts.committee, opts.scheme),
      messages: subset.map((i) => all[i]!),
      proof: batch.tree.prove(subset),
    });
  }

  /** Delivers and returns the outcome of every nonce the delivery ran (1 executed, 3 failed). */
  async function deliver(inbox: Contract, a: ReturnType<typeof args>): Promise<Map<bigint, number>> {
    const receipt = await (await inbox.getFunction("deliver")(...a)).wait();
    const log = receipt!.logs
      .map((l: { topics: string[]; data: string }) => inboxInterface.parseLog(l))
      .find((l: { name: string } | null) => l?.name === "BatchDelivered");
    const from = log!.args.fromNonce as bigint;
    const outcomes = getBytes(log!.args.outcomes as string);
    const out = new Map<bigint, number>();
    for (let n = from; n < from + BigInt(outcomes.length * 4); n++) {
      const o = deliveryOutcome(from, outcomes, n);
      if (o !== 0) out.set(n, o);
    }
    return out;
  }

  test("built for Paris: no PUSH0, MCOPY or transient storage in the inbox or its validator", () => {
    for (const name of ["ShanduNativeInbox", "ShanduNativeCommitteeValidator"]) {
      const artifact = loadArtifact(name);
      assert.equal(artifact.evmVersion, "paris");
      assert.deepEqual(postParisOpcodes(codeWithoutMetadata(artifact.deployedBytecode)), [], name);
    }
    assert.equal(loadArtifact("ShanduInbox").evmVersion, "prague");
  });

  test("a quorum delivery executes each message once; a second delivery executes nothing", async () => {
    const inbox = await deploy();
    assert.equal(await inbox.getFunction("scheme")(), 1n);
    assert.equal(await inbox.getFunction("hashSuite")(), 1n, "anvil's KECCAK256 is keccak-256");
    assert.equal(await inbox.getFunction("sm2VerifySelector")(), "0x00000000");
    const [hash] = await inbox.getFunction("committee")(0n);
    assert.equal(hash, toHex(committeeSetHash(tc.committee)));
    const before = await recorder.getFunction("callCount")();
    const all = messages([0n, 1n, 2n]);
    assert.deepEqual(
      [...(await deliver(inbox, args(all)))],
      [
        [0n, 1],
        [1n, 1],
        [2n, 1],
      ],
    );
    assert.deepEqual([...(await deliver(inbox, args(all)))], [], "nothing runs twice");
    assert.equal((await recorder.getFunction("callCount")()) - before, 3n);
    assert.equal(await inbox.getFunction("nextNonce")(SRC), 3n);
    assert.equal(await inbox.getFunction("isDelivered")(SRC, 2n), true);
    assert.equal(await inbox.getFunction("isDelivered")(SRC, 3n), false);
    // Any quorum will do, e.g. all four members.
    assert.deepEqual([...(await deliver(inbox, args(messages([3n]), { signers: [0, 1, 2, 3] })))], [[3n, 1]]);
  });

  test("attestation refusals, in verifyNativeAttestation's order and with its codes", async () => {
    const inbox = await deploy();
    const all = messages([0n, 1n]);
    const good = args(all);
    const send = (a: typeof good) => inbox.getFunction("deliver").staticCall(...a);
    const withAtt = (att: Partial<(typeof good)[1]>): typeof good => [good[0], { ...good[1], ...att }, good[2], good[3]];
    const sigs = fromHex(good[1].signatures);
    const sig = (k: number) => sigs.subarray(k * 65, (k + 1) * 65);

    await rejectsWith(send(args(all, { signers: [0, 3] })), "QUORUM_WEIGHT_NOT_MET");
    await rejectsWith(send(args(all, { signers: [0, 1, 2] })), "QUORUM_GROUP_NOT_MET");
    await rejectsWith(send(withAtt({ committeeSetHash: toHex(new Uint8Array(32).fill(7)) })), "COMMITTEE_HASH_MISMATCH");
    await rejectsWith(send(withAtt({ epoch: 5n })), "EPOCH_NOT_IN_CHAIN");
    await rejectsWith(send(withAtt({ signers: "0x0b00" })), "BITFIELD_LENGTH");
    await rejectsWith(send(withAtt({ signers: "0x1b" })), "BITFIELD_TRAILING_BITS");
    await rejectsWith(send(withAtt({ signers: "0x00", signatures: "0x" })), "EMPTY_SIGNER_SET");
    await rejectsWith(send(withAtt({ signatures: toHex(sigs.subarray(65)) })), "NATIVE_SIGNATURES_LENGTH");
    await rejectsWith(send(withAtt({ signatures: toHex(concatBytes(sigs, new Uint8Array(1))) })), "NATIVE_SIGNATURES_LENGTH");

    // Member 2's key signs in member 1's place.
    const header = buildBatch(all).header;
    const wrongKey = attest(header, [2]).signatures[0]!;
    await rejectsWith(send(withAtt({ signatures: toHex(concatBytes(sig(0), wrongKey, sig(2))) })), "NATIVE_SIGNATURE_INVALID");
    // The high-s twin of a valid signature (valid ECDSA, refused like native.ts refuses it), and v outside {27, 28}.
    const s = BigInt(toHex(sig(1).subarray(32, 64)));
    const twin = concatBytes(
      sig(1).subarray(0, 32),
      fromHex(`0x${(SECP_N - s).toString(16).padStart(64, "0")}`),
      Uint8Array.of(sig(1)[64] === 27 ? 28 : 27),
    );
    assert.equal(
      secp256k1.Signature.fromBytes(twin.subarray(0, 64), "compact")
        .addRecoveryBit(twin[64]! - 27)
        .recoverPublicKey(fromHex(await nativeDigestOf(header)))
        .toHex(false),
      secp256k1.Signature.fromBytes(sig(1).subarray(0, 64), "compact")
        .addRecoveryBit(sig(1)[64]! - 27)
        .recoverPublicKey(fromHex(await nativeDigestOf(header)))
        .toHex(false),
      "the twin recovers the same key",
    );
    await rejectsWith(send(withAtt({ signatures: toHex(concatBytes(sig(0), twin, sig(2))) })), "NATIVE_SIGNATURE_INVALID");
    const v0 = Uint8Array.from(sig(1));
    v0[64] = v0[64]! - 27;
    await rejectsWith(send(withAtt({ signatures: toHex(concatBytes(sig(0), v0, sig(2))) })), "NATIVE_SIGNATURE_INVALID");
    // Signatures over another batch's root.
    const other = args(messages([0n, 1n], recipient, { payload: new Uint8Array([9]) }));
    await rejectsWith(send(withAtt({ signatures: other[1].signatures })), "NATIVE_SIGNATURE_INVALID");
    // The untouched attestation passes.
    await send(good);
  });

  /** `SHA-256("SHANDU-NATIVE-v1" ‖ 0x01 ‖ signingRoot)`, recomputed with the node's SHA-256 precompile. */
  async function nativeDigestOf(header: BatchHeader): Promise<string> {
    const root = batchSigningRoot(committeeSetHash(tc.committee), 0n, header);
    const preimage = concatBytes(new TextEncoder().encode("SHANDU-NATIVE-v1"), Uint8Array.of(1), root);
    return node.provider.call({ to: "0x0000000000000000000000000000000000000002", data: toHex(preimage) });
  }

  test("inclusion and lane refusals come before the attestation", async () => {
    const inbox = await deploy();
    const all = messages([0n, 1n, 2n]);
    const good = args(all);
    const send = (a: typeof good) => inbox.getFunction("deliver").staticCall(...a);
    const tampered = toHex(encodeMessage({ ...all[1]!, payload: new TextEncoder().encode("tampered") }));
    await rejectsWith(send([good[0], good[1], [good[2][0]!, tampered, good[2][2]!], good[3]]), "ROOT_MISMATCH");
    // A message of another batch at a nonce of this one.
    const foreign = toHex(encodeMessage(messages([1n], governor())[0]!));
    await rejectsWith(send([good[0], good[1], [good[2][0]!, foreign, good[2][2]!], good[3]]), "ROOT_MISMATCH");
    // Inclusion is checked first: a tampered message with a bad attestation still fails inclusion.
    await rejectsWith(send([good[0], { ...good[1], signatures: "0x" }, [good[2][0]!, tampered, good[2][2]!], good[3]]), "ROOT_MISMATCH");
    await rejectsWith(send([{ ...good[0], destinationChainId: 3003n }, good[1], good[2], good[3]]), "WRONG_DESTINATION_CHAIN");
    await rejectsWith(send([good[0], good[1], [], []]), "EMPTY_DELIVERY");
    const otherLane = toHex(encodeMessage({ ...all[0]!, sourceChainId: 3003n }));
    await rejectsWith(send([good[0], good[1], [otherLane, good[2][1]!, good[2][2]!], good[3]]), "LANE_MISMATCH");
    const one = args(all, { subset: [1] });
    await rejectsWith(send([one[0], one[1], one[2], one[3].slice(1)]), "PROOF_TOO_SHORT");
    await rejectsWith(send([one[0], one[1], one[2], [...one[3], one[3][0]!]]), "PROOF_TOO_LONG");
  });

  test("the genesis: native keys that are not the encoding's or not curve points are refused at deployment", async () => {
    const input = nativeCommitteeInput(tc.committee, "secp256k1");
    const keys = fromHex(input.keys);
    const swapped = concatBytes(keys.subarray(64, 128), keys.subarray(0, 64), keys.subarray(128));
    const deployWith = (genesis: { encoding: string; keys: string }, scheme = 1) =>
      deployContract(node.wallet(0), "ShanduNativeInbox", [DST, scheme, "0x0000000000000000000000000000000000000000", 1, genesis, []]);
    await rejectsWith(deployWith({ ...input, keys: toHex(swapped) }), "INVALID_NATIVE_KEY");
    await rejectsWith(deployWith({ ...input, keys: toHex(keys.subarray(0, 192)) }), "BAD_LENGTH");
    await rejectsWith(deployWith({ ...input, keys: toHex(concatBytes(keys, keys.subarray(0, 64))) }), "BAD_LENGTH");
    // A key that is not on the curve, committed as such in the encoding.
    const offCurve = withKeys(tc, {});
    const k0 = offCurve.committee.members[0]!.nativeKeys[0]!.publicKey;
    k0[64] = k0[64]! ^ 1;
    const offKeys = concatBytes(k0.subarray(1), keys.subarray(64));
    // A key for a member whose encoding lists none: the keys no longer line up with the members.
    await rejectsWith(
      deployWith({ encoding: nativeCommitteeInput(withKeys(tc, { 0: [] }).committee, "secp256k1").encoding, keys: input.keys }),
      "INVALID_NATIVE_KEY",
    );
    await rejectsWith(deployWith({ encoding: toHex(encodeCommittee(offCurve.committee)), keys: toHex(offKeys) }), "INVALID_NATIVE_KEY");
    // Compressed keys: the same x and the parity of y. The other parity is another point.
    const compressed = withKeys(
      tc,
      Object.fromEntries(
        tc.committee.members.map((m, i) => [
          i,
          [{ scheme: "secp256k1" as const, publicKey: secp256k1.Point.fromBytes(m.nativeKeys[0]!.publicKey).toBytes(true) }],
        ]),
      ),
    );
    const inbox = await deploy({ committee: compressed.committee });
    assert.deepEqual([...(await deliver(inbox, args(messages([0n]), { committee: compressed })))], [[0n, 1]]);
    const flipped = structuredClone(compressed.committee);
    const flippedKey = flipped.members[0]!.nativeKeys[0]!.publicKey;
    flippedKey[0] = flippedKey[0]! ^ 1;
    await rejectsWith(
      deployWith({ encoding: toHex(encodeCommittee(flipped)), keys: nativeCommitteeInput(compressed.committee, "secp256k1").keys }),
      "INVALID_NATIVE_KEY",
    );
    // SM2 keys are checked on the SM2 curve.
    const sm2 = nativeCommitteeInput(tc.committee, "sm2");
    const smKeys = fromHex(sm2.keys);
    smKeys[63] = smKeys[63]! ^ 1;
    await rejectsWith(
      deployContract(node.wallet(0), "ShanduNativeInbox", [DST, 2, FISCO_CRYPTO_PRECOMPILE.v3, 1, { ...sm2, keys: toHex(smKeys) }, []]),
      "INVALID_NATIVE_KEY",
    );
  });

  test("the genesis: a policy the key holders cannot meet is refused; a member without a key cannot sign", async () => {
    await rejectsWith(deploy({ committee: withKeys(tc, { 3: [] }).committee }), "POLICY_UNSATISFIABLE");
    await rejectsWith(deploy({ committee: withKeys(tc, { 1: [], 2: [] }).committee }), "POLICY_UNSATISFIABLE");
    await rejectsWith(deploy({ committee: withKeys(tc, { 0: [], 1: [], 2: [], 3: [] }).committee }), "POLICY_UNSATISFIABLE");
    // Without the clearing bank's key, 3 of 4 weight and every group can still sign.
    const partial = withKeys(tc, { 2: [tc.committee.members[2]!.nativeKeys[1]!] });
    const inbox = await deploy({ committee: partial.committee });
    const all = messages([0n]);
    await rejectsWith(
      inbox.getFunction("deliver").staticCall(...args(all, { committee: partial, signers: [0, 1, 2, 3] })),
      "NATIVE_KEY_MISSING",
    );
    assert.deepEqual([...(await deliver(inbox, args(all, { committee: partial })))], [[0n, 1]]);
    // Other committee rules, and constructor arguments.
    const dup = structuredClone(tc.committee);
    dup.members[1]!.id = dup.members[0]!.id;
    await rejectsWith(deploy({ committee: dup }), "DUPLICATE_MEMBER_ID");
    const badThreshold = structuredClone(tc.committee);
    badThreshold.policy = { ...badThreshold.policy, threshold: { numerator: 1, denominator: 2 } };
    await rejectsWith(deploy({ committee: badThreshold }), "INVALID_THRESHOLD");
    const input = nativeCommitteeInput(tc.committee, "secp256k1");
    const zero = "0x0000000000000000000000000000000000000000";
    await rejectsWith(deployContract(node.wallet(0), "ShanduNativeInbox", [DST, 3, zero, 1, input, []]), "INVALID_NATIVE_SCHEME");
    await rejectsWith(
      deployContract(node.wallet(0), "ShanduNativeInbox", [DST, 1, FISCO_CRYPTO_PRECOMPILE.v3, 1, input, []]),
      "INVALID_NATIVE_VERIFIER",
    );
    await rejectsWith(deployContract(node.wallet(0), "ShanduNativeInbox", [DST, 2, zero, 1, input, []]), "INVALID_NATIVE_VERIFIER");
    await rejectsWith(deployContract(node.wallet(0), "ShanduNativeInbox", [DST, 1, zero, 0, input, []]), "INVALID_TIMESTAMP_UNITS");
    await rejectsWith(deployContract(node.wallet(0), "ShanduNativeInbox", [0n, 1, zero, 1, input, []]), "INVALID_CHAIN_ID");
    await rejectsWith(
      deployContract(node.wallet(0), "ShanduNativeInbox", [DST, 1, zero, 1, { encoding: "0x", keys: "0x" }, []]),
      "TRUNCATED",
    );
    await rejectsWith(deploy({ governance: [{ chainId: DST, sender: governor() }] }), "INVALID_GOVERNANCE_SOURCE");
  });

  function nextCommittee(epoch: bigint, seed: string): TestCommittee {
    return makeTestCommittee(bls, {
      epoch,
      seed,
      members: tc.committee.members.map((m) => ({ id: m.id, group: m.group })),
      policy: PILOT_POLICY,
      nativeSchemes: ["secp256k1", "sm2"],
    });
  }

  function rotation(from: TestCommittee, to: TestCommittee, signers: number[], activatesAtSeconds: bigint, graceSeconds: number) {
    const fromHash = committeeSetHash(from.committee);
    const root = rotationSigningRoot(
      fromHash,
      from.committee.epoch,
      committeeSetHash(to.committee),
      to.committee.epoch,
      activatesAtSeconds,
      graceSeconds,
    );
    return nativeRotateArgs(
      {
        fromEpoch: from.committee.epoch,
        fromCommitteeSetHash: fromHash,
        to: to.committee,
        activatesAtSeconds,
        graceSeconds,
        attestation: signNativeAs(from, "secp256k1", signers, root),
      },
      "secp256k1",
    );
  }

  test("rotation: a native quorum registers epoch 1, which then delivers; without quorum it is not attested", async () => {
    const inbox = await deploy();
    const next = nextCommittee(1n, "native-inbox-next");
    await rejectsWith(
      inbox.getFunction("rotate").staticCall(...rotation(tc, next, [0, 3], 0n, 100)),
      "ROTATION_NOT_ATTESTED:QUORUM_WEIGHT_NOT_MET",
    );
    await rejectsWith(
      inbox.getFunction("rotate").staticCall(...rotation(tc, next, [0, 1, 2], 0n, 100)),
      "ROTATION_NOT_ATTESTED:QUORUM_GROUP_NOT_MET",
    );
    const forged = rotation(tc, next, [0, 1, 3], 0n, 100);
    forged[5] = { ...forged[5], signatures: rotation(next, next, [0, 1, 3], 0n, 100)[5].signatures };
    await rejectsWith(inbox.getFunction("rotate").staticCall(...forged), "ROTATION_NOT_ATTESTED:NATIVE_SIGNATURE_INVALID");
    // The incoming committee must itself be usable: its key holders must meet its policy.
    const keyless = withKeys(next, { 3: [] });
    await rejectsWith(inbox.getFunction("rotate").staticCall(...rotation(tc, keyless, [0, 1, 3], 0n, 100)), "POLICY_UNSATISFIABLE");
    await rejectsWith(inbox.getFunction("rotate").staticCall(...rotation(next, next, [0, 1, 3], 0n, 100)), "ROTATION_EPOCH_GAP");

    const now = BigInt((await node.provider.getBlock("latest"))!.timestamp);
    const record = rotation(tc, next, [0, 1, 3], now, 3600);
    await (await inbox.getFunction("rotate")(...record)).wait();
    assert.equal(await inbox.getFunction("latestEpoch")(), 1n);
    assert.equal((await inbox.getFunction("committee")(1n))[0], toHex(committeeSetHash(next.committee)));
    await (await inbox.getFunction("rotate")(...record)).wait();
    assert.equal(await inbox.getFunction("latestEpoch")(), 1n, "the same record again is a no-op");
    await rejectsWith(inbox.getFunction("rotate").staticCall(...rotation(tc, next, [0, 1, 3], now, 3601)), "ROTATION_CONFLICT");

    assert.deepEqual([...(await deliver(inbox, args(messages([0n]), { committee: next })))], [[0n, 1]]);
    assert.deepEqual([...(await deliver(inbox, args(messages([1n]))))], [[1n, 1]], "epoch 0 is in its grace period");
    // Once epoch 2 is active, epoch 0 has expired whatever its grace.
    const third = nextCommittee(2n, "native-inbox-third");
    await (await inbox.getFunction("rotate")(...rotation(next, third, [0, 1, 3], now, 0))).wait();
    await rejectsWith(inbox.getFunction("deliver").staticCall(...args(messages([2n]))), "EPOCH_EXPIRED");
    assert.deepEqual([...(await deliver(inbox, args(messages([2n]), { committee: third })))], [[2n, 1]]);
  });

  test("time: with 1000 timestamp units per second (FISCO's milliseconds), activation and grace are in seconds", async () => {
    const inbox = await deploy({ timestampUnitsPerSecond: 1000 });
    const block = await node.provider.getBlock("latest");
    const now = await inbox.getFunction("nowSeconds")();
    assert.equal(now, BigInt(block!.timestamp) / 1000n);
    const next = nextCommittee(1n, "native-inbox-clock");
    await (await inbox.getFunction("rotate")(...rotation(tc, next, [0, 1, 3], now + 5n, 3))).wait();
    assert.equal(await inbox.getFunction("epochStatus")(1n, now), toHex(new TextEncoder().encode("EPOCH_NOT_YET_ACTIVE")).padEnd(66, "0"));
    await rejectsWith(inbox.getFunction("deliver").staticCall(...args(messages([0n]), { committee: next })), "EPOCH_NOT_YET_ACTIVE");
    // 5 "seconds" are 5,000 of the node's timestamp units.
    await node.provider.send("evm_increaseTime", [5_000]);
    await node.provider.send("evm_mine", []);
    assert.deepEqual([...(await deliver(inbox, args(messages([0n]), { committee: next })))], [[0n, 1]]);
    assert.deepEqual([...(await deliver(inbox, args(messages([1n]))))], [[1n, 1]], "epoch 0 in its 3-second grace");
    await node.provider.send("evm_increaseTime", [3_000]);
    await node.provider.send("evm_mine", []);
    await rejectsWith(inbox.getFunction("deliver").staticCall(...args(messages([2n]))), "EPOCH_EXPIRED");
  });

  test("governance: the governor's message pauses the lane, app messages then wait; retry and the re-entrancy lock", async () => {
    const inbox = await deploy();
    const gov = (nonce: bigint, op: "pauseLane" | "resumeLane", sender = getBytes(governor())) =>
      messages([nonce], recipient, {
        kind: MessageKind.governance,
        sender,
        recipient: new Uint8Array(0),
        payload: governancePayload(op, SRC),
      });
    assert.deepEqual([...(await deliver(inbox, args(gov(0n, "pauseLane"))))], [[0n, 1]]);
    assert.equal(await inbox.getFunction("lanePaused")(SRC), true);
    await rejectsWith(inbox.getFunction("deliver").staticCall(...args(messages([1n]))), "LANE_PAUSED");
    assert.deepEqual([...(await deliver(inbox, args(gov(2n, "resumeLane"))))], [[2n, 1]]);
    assert.deepEqual([...(await deliver(inbox, args(messages([1n]))))], [[1n, 1]]);
    const stranger = gov(3n, "pauseLane", new Uint8Array(20).fill(0x66));
    assert.deepEqual(
      [...(await deliver(inbox, args(stranger)))],
      [[3n, 3]],
      "another sender's governance is refused and recorded as failed",
    );
    assert.equal(await inbox.getFunction("lanePaused")(SRC), false);

    const flaky = await deployContract(node.wallet(0), "FlakyReceiver", []);
    const [m] = messages([4n], await flaky.getAddress());
    assert.deepEqual([...(await deliver(inbox, args([m!])))], [[4n, 3]]);
    await (await flaky.getFunction("setAccept")(true)).wait();
    await (await inbox.getFunction("retry")(toHex(encodeMessage(m!)))).wait();
    assert.equal(await flaky.getFunction("received")(), 1n);
    await rejectsWith(inbox.getFunction("retry").staticCall(toHex(encodeMessage(m!))), "NOT_RETRYABLE");

    const reentrant = await deployContract(node.wallet(0), "ReentrantReceiver", [await inbox.getAddress()]);
    const [r] = messages([5n], await reentrant.getAddress());
    await (await reentrant.getFunction("setReplay")(toHex(encodeMessage(r!)))).wait();
    assert.deepEqual([...(await deliver(inbox, args([r!])))], [[5n, 1]]);
    assert.equal(codeOf({ data: await reentrant.getFunction("lastRevert")() }), "REENTRANT_CALL");
  });

  test("SM2 through the test double of FISCO's CryptoPrecompiled at 0x100a", async () => {
    await node.provider.send("anvil_setCode", [FISCO_CRYPTO_PRECOMPILE.v3, loadArtifact("FiscoCryptoPrecompileDouble").deployedBytecode]);
    const inbox = await deploy({ scheme: "sm2" });
    assert.equal(await inbox.getFunction("scheme")(), 2n);
    assert.equal(await inbox.getFunction("sm2Precompile")(), getAddress(FISCO_CRYPTO_PRECOMPILE.v3));
    assert.equal(await inbox.getFunction("sm2VerifySelector")(), SM2_VERIFY_SELECTOR.ecdsa, "a keccak chain's selector");
    const all = messages([0n, 1n]);
    const good = args(all, { scheme: "sm2" });
    assert.equal(fromHex(good[1].signatures).length, 3 * 64);
    const send = (a: typeof good) => inbox.getFunction("deliver").staticCall(...a);
    await rejectsWith(send(args(all, { scheme: "sm2", signers: [0, 3] })), "QUORUM_WEIGHT_NOT_MET");
    await rejectsWith(send(args(all, { scheme: "sm2", signers: [0, 1, 2] })), "QUORUM_GROUP_NOT_MET");
    const sigs = fromHex(good[1].signatures);
    const wrongKey = attest(buildBatch(all).header, [2], tc, "sm2").signatures[0]!;
    await rejectsWith(
      send([good[0], { ...good[1], signatures: toHex(concatBytes(sigs.subarray(0, 64), wrongKey, sigs.subarray(128))) }, good[2], good[3]]),
      "NATIVE_SIGNATURE_INVALID",
    );
    await rejectsWith(send([good[0], { ...good[1], signatures: toHex(sigs.subarray(64)) }, good[2], good[3]]), "NATIVE_SIGNATURES_LENGTH");
    assert.deepEqual(
      [...(await deliver(inbox, good))],
      [
        [0n, 1],
        [1n, 1],
      ],
    );
    assert.deepEqual([...(await deliver(inbox, good))], []);
  });

  test("SM2 with no precompile at the address: a refusal (NATIVE_VERIFIER_UNAVAILABLE), never a pass", async () => {
    const absent = FISCO_CRYPTO_PRECOMPILE.v2;
    assert.equal(await node.provider.getCode(absent), "0x");
    const inbox = await deploy({ scheme: "sm2", sm2Precompile: absent });
    await rejectsWith(inbox.getFunction("deliver").staticCall(...args(messages([0n]), { scheme: "sm2" })), "NATIVE_VERIFIER_UNAVAILABLE");
  });

  test("nativeAttestationArgs refuses signatures of the wrong size for the scheme", () => {
    const att = attest(buildBatch(messages([0n])).header, [0, 1, 3]);
    assert.throws(() => nativeAttestationArgs({ ...att, scheme: "sm2" }), /64-byte sm2 signatures/);
  });
});
