/**
 * Destination evidence from the FISCO adapter against `fiscoTestServer` (a test double of a 3.x node's
 * JSON-RPC executing on anvil), ECDSA suite, with contracts deployed by signed TARS transactions.
 *
 * The scan and its cache are tested against `FiscoDeliveryEventEmitter` (deploy/contracts/test/), a
 * stand-in with the native inbox's `deliver`, views and `BatchDelivered` event that verifies nothing and
 * can mark a nonce as failed, compiled here with solc: the adapter delivers batches to it; the evidence
 * it then builds for each executed nonce verifies offline with the server's sealers and the inbox pinned,
 * a failed execution fails `DELIVERY_FAILED`, an undelivered nonce has none, the messages of one delivery
 * cost one block scan, and the scan bound, finality and a short quorum are honoured. The last test does
 * the same with `ShanduNativeInbox` from the artifact, which checks the committee's native co-signatures
 * and calls the recipients.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AdapterError, type Delivery, type Lane } from "@shandu/adapter-core";
import { type AnvilNode, startAnvil } from "@shandu/adapter-evm/testing";
import { loadArtifact, nativeInboxDeployArgs } from "@shandu/deploy";
import {
  type BatchHeader,
  batchSigningRoot,
  buildBatch,
  committeeSetHash,
  type Evidence,
  EvidenceError,
  FiscoError,
  fiscoDeliveryEvidenceVerifier,
  loadBls,
  type Message,
  messageId,
  sm3,
  toHex,
} from "@shandu/proofs";
import { laneMessage, pilotCommittee, signNativeAs, type TestCommittee } from "@shandu/proofs/testing";
import { Interface } from "ethers";
import { type FiscoAdapter, fiscoAdapterModule } from "./adapter.ts";
import { FiscoRpcClient } from "./rpc.ts";
import { type FiscoTestServer, startFiscoTestServer } from "./testing/fiscoTestServer.ts";

const SOURCE = 1001n;
const DESTINATION = 86755n;
const LANE: Lane = { sourceChainId: SOURCE, destinationChainId: DESTINATION };
const suite = "ecdsa";
const sealerKeys = [1, 2, 3, 4].map((k) => sm3(Uint8Array.of(k, 88)));
const relayerKey = sm3(Uint8Array.of(9, 3));
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ""), "hex"));

/** The stand-in inbox, compiled from its source with the repository's solc. */
function compileStandIn(): { abi: Interface; bytecode: string } {
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const name = "FiscoDeliveryEventEmitter";
  const content = readFileSync(new URL(`../../../deploy/contracts/test/${name}.sol`, import.meta.url), "utf8");
  const input = {
    language: "Solidity",
    sources: { [`${name}.sol`]: { content } },
    // FISCO BCOS 3.x runs the EVM up to London (later versions up to Cancun).
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "london", outputSelection: { "*": { "*": ["abi", "evm.bytecode"] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  assert.deepEqual(
    errors.map((e) => e.formattedMessage),
    [],
  );
  const c = out.contracts[`${name}.sol`]![name]!;
  return { abi: new Interface(c.abi as never), bytecode: c.evm.bytecode.object };
}

const message = (nonce: bigint): Message => laneMessage(SOURCE, DESTINATION, nonce);

let anvil: AnvilNode;
let server: FiscoTestServer;
let client: FiscoRpcClient;
let tc: TestCommittee;
let standIn: { abi: Interface; bytecode: string };
/** The stand-in inbox's address. */
let inbox: Uint8Array;
let keyDir: string;

/** Deploys `code` (creation code with its constructor arguments) by a TARS transaction; returns the address. */
async function deploy(code: string): Promise<Uint8Array> {
  const deployed = await client.sendTransaction(server.transaction({ secretKey: relayerKey, input: bytes(code) }));
  assert.equal(deployed.data.status, 0, `deployment failed: ${toHex(deployed.data.output)}`);
  return bytes(deployed.data.contractAddress);
}

before(async () => {
  anvil = await startAnvil();
  server = await startFiscoTestServer({ suite, sealerKeys, signers: [0, 1, 3], anvilUrl: anvil.rpcUrl });
  client = new FiscoRpcClient({ url: server.url, group: "group0" });
  tc = pilotCommittee(await loadBls(), "fisco-delivery", 0n, ["secp256k1"]);
  standIn = compileStandIn();
  inbox = await deploy(standIn.bytecode + standIn.abi.encodeDeploy([DESTINATION]).slice(2));
  keyDir = mkdtempSync(join(tmpdir(), "shandu-fisco-delivery-"));
  writeFileSync(join(keyDir, "relayer.key"), `${toHex(relayerKey)}\n`);
});
after(async () => {
  await server?.close();
  await anvil?.close();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

/** A FISCO adapter delivering to `o.inbox` (default the stand-in), with the server's sealers pinned (checks the inbox's chain id). */
async function adapter(o: { deliveryScanBlocks?: number; finalityDepthBlocks?: number; inbox?: Uint8Array } = {}): Promise<FiscoAdapter> {
  const { inbox: to = inbox, ...options } = o;
  const config = fiscoAdapterModule.parseConfig({
    kind: "fisco-bcos",
    chainId: DESTINATION.toString(),
    rpcUrl: server.url,
    suite,
    inbox: toHex(to),
    signer: { keyFile: join(keyDir, "relayer.key") },
    sealers: server.sealers.map((s) => toHex(s)),
    ...options,
  });
  return (await fiscoAdapterModule.create(config, { bls: await loadBls() })) as FiscoAdapter;
}

/** The delivery of `nonces` of the batch of `all` (its first nonce first), co-signed natively by a quorum. */
function delivery(all: bigint[] | Message[], nonces: bigint[]): { delivery: Delivery; header: BatchHeader } {
  const messages = all.map((m) => (typeof m === "bigint" ? message(m) : m));
  const batch = buildBatch(messages);
  const first = messages[0]!.nonce;
  const indices = nonces.map((n) => Number(n - first));
  const native = signNativeAs(tc, "secp256k1", [0, 1, 3], batchSigningRoot(committeeSetHash(tc.committee), 0n, batch.header));
  return {
    header: batch.header,
    delivery: {
      header: batch.header,
      attestation: { epoch: 0n, committeeSetHash: committeeSetHash(tc.committee), signers: native.signers, signature: new Uint8Array(96) },
      nativeAttestation: native,
      committees: { genesis: tc.committee, rotations: [] },
      messages: indices.map((i) => batch.messages[i]!),
      proof: batch.tree.prove(indices),
    },
  };
}

/** Any other transaction, to put blocks between deliveries. */
async function otherTransaction(): Promise<void> {
  const r = await client.sendTransaction(
    server.transaction({ secretKey: relayerKey, to: inbox, input: bytes(standIn.abi.encodeFunctionData("failOn", [999_999n])) }),
  );
  assert.equal(r.data.status, 0);
}

const verifier = (pinnedInbox: Uint8Array) =>
  fiscoDeliveryEvidenceVerifier({
    sealers: { [DESTINATION.toString()]: { suite, nodeIds: server.sealers.map((s) => toHex(s)) } },
    inboxes: { [DESTINATION.toString()]: toHex(pinnedInbox) },
  });
/** The verifier's detail for `evidence` in the bundle of `m` (default the lane's message at `nonce`) of the batch `header`. */
const check = (evidence: Evidence | null, nonce: bigint, header: BatchHeader, m: Message = message(nonce), pinnedInbox = inbox) => {
  assert.ok(evidence, `evidence for nonce ${nonce}`);
  return verifier(pinnedInbox).verify(evidence, { message: m, messageId: messageId(m), batch: header });
};
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    return e.code;
  }
  return "passed";
};

test("the adapter's delivery evidence verifies with the sealers and the inbox pinned, found by one scan per delivery", async () => {
  const a = await adapter();
  let blockReads = 0;
  const read = a.client.getBlockWithTxHashes.bind(a.client);
  a.client.getBlockWithTxHashes = (n, s) => {
    blockReads++;
    return read(n, s);
  };
  try {
    // Nonce 2's recipient fails; the first delivery runs nonces 0–3.
    const fail = await client.sendTransaction(
      server.transaction({ secretKey: relayerKey, to: inbox, input: bytes(standIn.abi.encodeFunctionData("failOn", [2n])) }),
    );
    assert.equal(fail.data.status, 0);
    const first = delivery([0n, 1n, 2n, 3n], [0n, 1n, 2n, 3n]);
    const done = await a.submitBatch(first.delivery, { signal: AbortSignal.timeout(30_000) });
    assert.deepEqual(done.executed, [0n, 1n, 2n, 3n]);
    await otherTransaction();
    await otherTransaction();
    // The second delivers nonces 4 and 6 of a batch of 4–7.
    const second = delivery([4n, 5n, 6n, 7n], [4n, 6n]);
    assert.deepEqual((await a.submitBatch(second.delivery, { signal: AbortSignal.timeout(30_000) })).executed, [4n, 6n]);
    await otherTransaction();

    // The newest delivery first: one scan from the head down to its block.
    assert.match(
      check(await a.destinationEvidence(LANE, 6n), 6n, second.header),
      /^nonce 6 executed: .*quorum of the 4 pinned sealers.*from the pinned inbox/,
    );
    const afterSecond = blockReads;
    assert.equal(afterSecond, 2, "the head block and the delivery's");
    assert.match(check(await a.destinationEvidence(LANE, 4n), 4n, second.header), /^nonce 4 executed/);
    assert.equal(blockReads, afterSecond, "the other nonce of the delivery costs no scan");
    assert.equal(await a.destinationEvidence(LANE, 5n), null, "not delivered");
    assert.equal(await a.destinationEvidence(LANE, 7n), null);

    // An older delivery: the scan goes on below the blocks read, and only once.
    for (const n of [0n, 1n, 3n])
      assert.match(check(await a.destinationEvidence(LANE, n), n, first.header), new RegExp(`^nonce ${n} executed`));
    const afterFirst = blockReads;
    assert.equal(afterFirst - afterSecond, 3, "two filler blocks and the delivery's");
    const failed = await a.destinationEvidence(LANE, 2n);
    assert.equal(
      codeOf(() => check(failed, 2n, first.header)),
      "DELIVERY_FAILED",
    );
    assert.equal(blockReads, afterFirst);

    // The evidence is of its own batch and nonce only.
    assert.equal(
      codeOf(() => check(failed, 6n, second.header)),
      "BATCH_MISMATCH",
    );
    const six = await a.destinationEvidence(LANE, 6n);
    assert.equal(
      codeOf(() => check(six, 5n, second.header)),
      "NOT_DELIVERED_HERE",
    );

    // A later delivery: only the new blocks are read.
    await otherTransaction();
    const third = delivery([8n], [8n]);
    await a.submitBatch(third.delivery, { signal: AbortSignal.timeout(30_000) });
    assert.match(check(await a.destinationEvidence(LANE, 8n), 8n, third.header), /^nonce 8 executed/);
    assert.equal(blockReads - afterFirst, 2);

    // A delivered nonce asked for again is delivered before: the adapter reports it, no transaction.
    const again = await a.submitBatch(first.delivery, { signal: AbortSignal.timeout(30_000) });
    assert.deepEqual([again.tx, again.alreadyDelivered], [null, [0n, 1n, 2n, 3n]]);
    await assert.rejects(
      a.destinationEvidence({ sourceChainId: DESTINATION, destinationChainId: SOURCE }, 0n),
      (e: unknown) => e instanceof AdapterError && e.code === "WRONG_LANE",
    );
  } finally {
    await a.close();
  }
});

test("the scan bound, blocks not final yet and a short quorum are reported with their codes", async () => {
  const fourth = delivery([9n, 10n], [9n, 10n]);
  const a = await adapter();
  try {
    await a.submitBatch(fourth.delivery, { signal: AbortSignal.timeout(30_000) });
  } finally {
    await a.close();
  }
  await otherTransaction();
  await otherTransaction();

  // Three blocks back is beyond a two-block search.
  const near = await adapter({ deliveryScanBlocks: 2 });
  await assert.rejects(near.destinationEvidence(LANE, 9n), (e: unknown) => e instanceof AdapterError && e.code === "MESSAGE_NOT_FOUND");
  await near.close();
  // With finality five blocks deep, the delivery is not final yet: retry later.
  const cautious = await adapter({ finalityDepthBlocks: 5 });
  await assert.rejects(cautious.destinationEvidence(LANE, 9n), (e: unknown) => e instanceof AdapterError && e.code === "NOT_FINALIZED");
  await cautious.close();
  const wide = await adapter();
  assert.match(check(await wide.destinationEvidence(LANE, 10n), 10n, fourth.header), /^nonce 10 executed/);
  await wide.close();

  // A block sealed by two of four sealers: the builder refuses it against the pinned sealers.
  server.setSigners([0, 1]);
  const fifth = delivery([11n], [11n]);
  const b = await adapter();
  try {
    await b.submitBatch(fifth.delivery, { signal: AbortSignal.timeout(30_000) });
    const e = await b.destinationEvidence(LANE, 11n).catch((x: unknown) => x);
    assert.ok(e instanceof FiscoError && e.code === "SEALER_QUORUM_NOT_MET", String(e));
  } finally {
    server.setSigners(undefined);
    await b.close();
  }
});

test("ShanduNativeInbox: a native quorum's delivery is proven for each executed nonce, a failed recipient's is DELIVERY_FAILED", async () => {
  const native = loadArtifact("ShanduNativeInbox");
  const nativeAbi = new Interface(native.abi as never);
  // anvil's block time is in seconds.
  const args = nativeInboxDeployArgs({ chainId: DESTINATION, scheme: "secp256k1", committee: tc.committee, timestampUnitsPerSecond: 1 });
  const nativeInbox = await deploy(native.bytecode + nativeAbi.encodeDeploy(args).slice(2));
  const receiver = await deploy(loadArtifact("NoopReceiver").bytecode);
  // Nonces 0 and 2 go to a receiver; nonce 1 to an address without code, which the inbox runs as a failure.
  const messages = [0n, 1n, 2n, 3n].map((n) => ({ ...message(n), recipient: n === 1n ? new Uint8Array(20).fill(0xb2) : receiver }));
  const a = await adapter({ inbox: nativeInbox });
  try {
    const d = delivery(messages, [0n, 1n, 2n]);
    const done = await a.submitBatch(d.delivery, { signal: AbortSignal.timeout(30_000) });
    assert.deepEqual(done.executed, [0n, 1n, 2n]);
    await otherTransaction();
    for (const i of [0, 2]) {
      const detail = check(await a.destinationEvidence(LANE, BigInt(i)), BigInt(i), d.header, messages[i], nativeInbox);
      assert.match(detail, new RegExp(`^nonce ${i} executed: .*4 pinned sealers.*from the pinned inbox ${toHex(nativeInbox)}$`));
    }
    const failed = await a.destinationEvidence(LANE, 1n);
    assert.equal(
      codeOf(() => check(failed, 1n, d.header, messages[1], nativeInbox)),
      "DELIVERY_FAILED",
    );
    assert.equal(await a.destinationEvidence(LANE, 3n), null, "not delivered");
    // The stand-in's pin does not pass the native inbox's evidence.
    assert.equal(
      codeOf(() => check(failed, 1n, d.header, messages[1], inbox)),
      "INBOX_MISMATCH",
    );
  } finally {
    await a.close();
  }
});
