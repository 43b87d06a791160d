/**
 * Real proof bundles on disk for the CLI's tests: built and signed with `@shandu/proofs` and its
 * test committees (keys from public seeds — never use them for anything real).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BATCH_DELIVERED_TOPIC,
  type Bls,
  batchDeliveredTopic,
  buildBatch,
  bundleFor,
  bundleToJson,
  committeeToJson,
  concatBytes,
  type Evidence,
  encodeBundleBinary,
  evmDeliveryEvidence,
  fiscoDeliveryEvidence,
  type Json,
  type Message,
  MessageKind,
  type ProofBundle,
  rotationToJson,
} from "@shandu/proofs";
import {
  abiBytes,
  attestBatch,
  evmBlock,
  evmReceipt,
  evmTransaction,
  evmWord,
  fiscoBlock,
  pilotCommittee,
  rotate,
} from "@shandu/proofs/testing";

/** Seconds at which the rotated committee of {@link writeBundleFixtures} takes over. */
export const ROTATION_ACTIVATES_AT = 1_000n;
/** Grace the genesis committee keeps after the rotation. */
export const ROTATION_GRACE_SECONDS = 100;

export interface BundleFixtures {
  /** The trusted genesis committee, bare `committeeToJson`. */
  genesis: string;
  /** A directory with genesis.json, valid.json, valid.bin and every broken bundle below. */
  dir: string;
  valid: string;
  validBinary: string;
  /** A credit amount changed after signing, stated messageId kept: fails at "message". */
  tamperedPayload: string;
  /** Aggregate signature made by keys outside the committee: fails at "attestation". */
  forgedSignature: string;
  /** A self-consistent bundle of a committee nobody trusts: fails at "trust-anchor". */
  wrongGenesis: string;
  /** Not JSON at all: fails at "format". */
  notJson: string;
  /** The rotation to epoch 1, as a JSON array for `--rotations` (outside the bundle directory). */
  knownRotations: string;
  /** A rotation to epoch 1 the genesis committee also signed, to a different committee (a fork). */
  forkedRotations: string;
  /** Attested by the epoch-1 committee after a rotation activating at {@link ROTATION_ACTIVATES_AT}. */
  rotated: string;
  /** Valid, with source evidence of a kind the CLI has no verifier for. */
  withEvidence: string;
  /**
   * Valid, with EVM evidence: malformed `evm-receipt` source evidence (fails "source-evidence") and
   * `evm-delivery` destination evidence of a made-up block in which the inbox executed the message (passes).
   * Outside the bundle directory.
   */
  withEvmEvidence: string;
  /**
   * Valid, with `fisco-delivery` destination evidence of a made-up SM block, sealed by three of four
   * sealers, in which the native-key inbox executed the message (passes). Outside the bundle directory.
   */
  withFiscoEvidence: string;
}

/**
 * `"evm-delivery"` evidence of a made-up EVM block (chain 31338) whose only transaction delivered the
 * batch with `root` and `fromNonce`, executing every nonce in `outcomes` (two bits each, 1 = executed).
 */
function deliveryEvidence(root: Uint8Array, fromNonce: bigint, outcomes: number): Evidence {
  const inbox = new Uint8Array(20).fill(0xb2);
  const data = concatBytes(evmWord(fromNonce), evmWord(64n), evmWord(1n), Uint8Array.of(outcomes), new Uint8Array(31));
  const receipt = evmReceipt(2, [[inbox, [BATCH_DELIVERED_TOPIC, evmWord(1001n), root], data]]);
  const block = evmBlock([evmTransaction(2, 0, 31338n)], [receipt], 99n);
  return evmDeliveryEvidence({ ...block.inclusion(0, 31338n), logIndex: 0, inbox });
}

const encoder = new TextEncoder();

/**
 * `"fisco-delivery"` evidence of a made-up FISCO BCOS block (SM suite) whose second transaction delivered
 * the batch with `root` from nonce `fromNonce`, executing every nonce in `outcomes` (two bits each).
 */
function fiscoDelivery(root: Uint8Array, fromNonce: bigint, outcomes: number): Evidence {
  const inbox = new Uint8Array(20).fill(0xf1);
  const log = {
    address: "f1".repeat(20),
    topics: [batchDeliveredTopic("sm"), evmWord(1001n), root],
    data: concatBytes(evmWord(fromNonce), abiBytes(Uint8Array.of(outcomes), 64n)),
  };
  const block = fiscoBlock("sm", { number: 77n, logs: [[], [log]] });
  return fiscoDeliveryEvidence({ ...block.inclusion(1), transactionHash: block.txHashes[1]!, inbox, logIndex: 0 });
}

function message(nonce: bigint, credits: number): Message {
  return {
    version: 1,
    sourceChainId: 1001n,
    destinationChainId: 2002n,
    nonce,
    kind: MessageKind.app,
    sender: encoder.encode("shanghai-lowcarbon-outbox"),
    recipient: encoder.encode("shenzhen-welfare-inbox"),
    payload: encoder.encode(JSON.stringify({ op: "redeem", lock: `lock-${nonce}`, credits })),
    source: { blockNumber: 4242n, txHash: new Uint8Array(32).fill(7), logIndex: Number(nonce) },
  };
}

async function writeJson(path: string, value: Json): Promise<string> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/**
 * Writes the fixtures into `root` (which must exist): a directory `root/bundles/` holding
 * `genesis.json` and every bundle, and a copy of the genesis at `root/genesis.json`.
 */
export async function writeBundleFixtures(bls: Bls, root: string): Promise<BundleFixtures> {
  const dir = join(root, "bundles");
  await mkdir(dir, { recursive: true });
  const pilot = pilotCommittee(bls);
  const attacker = pilotCommittee(bls, "attacker");
  const committees = { genesis: pilot.committee, rotations: [] };

  const batch = buildBatch([message(10n, 42), message(11n, 7), message(12n, 19)]);
  const attestation = attestBatch(bls, pilot, [0, 1, 3], batch.header);
  const valid = bundleFor(batch, 1, attestation, committees);
  const validJson = bundleToJson(valid) as { [k: string]: Json };

  const tampered = structuredClone(validJson);
  const m = tampered.message as { [k: string]: Json };
  m.payload = `0x${Buffer.from(JSON.stringify({ op: "redeem", lock: "lock-11", credits: 7000 })).toString("hex")}`;

  const forged: ProofBundle = {
    ...valid,
    attestation: { ...attestation, signature: attestBatch(bls, attacker, [0, 1, 3], batch.header).signature },
  };

  const attackerBatch = buildBatch([message(10n, 5000)]);
  const wrong = bundleFor(attackerBatch, 0, attestBatch(bls, attacker, [0, 1, 2, 3], attackerBatch.header), {
    genesis: attacker.committee,
    rotations: [],
  });

  const next = pilotCommittee(bls, "pilot-epoch-1", 1n);
  const rotation = rotate(bls, pilot, [0, 1, 3], next.committee, ROTATION_ACTIVATES_AT, ROTATION_GRACE_SECONDS);
  const laterBatch = buildBatch([message(13n, 3)]);
  const rotated = bundleFor(laterBatch, 0, attestBatch(bls, next, [0, 1, 3], laterBatch.header), {
    genesis: pilot.committee,
    rotations: [rotation],
  });

  const genesisJson = committeeToJson(pilot.committee);
  const validBinary = join(dir, "valid.bin");
  await writeFile(validBinary, encodeBundleBinary(bundleFor(batch, 2, attestation, committees)));
  const notJson = join(dir, "not-json.json");
  await writeFile(notJson, "this is not a proof bundle {\n");
  await writeJson(join(dir, "genesis.json"), genesisJson);
  return {
    genesis: await writeJson(join(root, "genesis.json"), genesisJson),
    dir,
    valid: await writeJson(join(dir, "valid.json"), validJson),
    validBinary,
    tamperedPayload: await writeJson(join(dir, "tampered-payload.json"), tampered),
    forgedSignature: await writeJson(join(dir, "forged-signature.json"), bundleToJson(forged)),
    wrongGenesis: await writeJson(join(dir, "wrong-genesis.json"), bundleToJson(wrong)),
    notJson,
    rotated: await writeJson(join(dir, "rotated.json"), bundleToJson(rotated)),
    knownRotations: await writeJson(join(root, "known-rotations.json"), [rotationToJson(rotation)]),
    forkedRotations: await writeJson(join(root, "forked-rotations.json"), [
      rotationToJson(
        rotate(
          bls,
          pilot,
          [0, 1, 3],
          pilotCommittee(bls, "pilot-epoch-1-fork", 1n).committee,
          ROTATION_ACTIVATES_AT,
          ROTATION_GRACE_SECONDS,
        ),
      ),
    ]),
    withEvidence: await writeJson(
      join(dir, "with-evidence.json"),
      bundleToJson({ ...bundleFor(batch, 0, attestation, committees), sourceEvidence: { kind: "fabric-endorsement", block: "0x00" } }),
    ),
    withEvmEvidence: await writeJson(
      join(root, "with-evm-evidence.json"),
      bundleToJson({
        ...bundleFor(batch, 0, attestation, committees),
        sourceEvidence: { kind: "evm-receipt", receipt: "0x00" },
        destinationEvidence: deliveryEvidence(batch.header.root, 10n, 0b010101),
      }),
    ),
    withFiscoEvidence: await writeJson(
      join(root, "with-fisco-evidence.json"),
      bundleToJson({
        ...bundleFor(batch, 1, attestation, committees),
        destinationEvidence: fiscoDelivery(batch.header.root, 10n, 0b010101),
      }),
    ),
  };
}
