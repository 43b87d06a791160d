/**
 * The whole EVM path on two real anvil nodes (Prague), ending where an auditor starts: a message sent
 * through `ShanduOutbox` on chain A is watched once final, attested by the pilot committee, delivered by
 * the EVM adapter to `ShanduInbox` on chain B (executed once, however often delivered), and its proof
 * bundle — with the receipt-proof source evidence from A and the delivery evidence from B — verifies
 * offline with `shandu verify --strict`, while a copy with a changed payload is refused. A chain without
 * the EIP-2537 precompiles (Cancun) cannot even register a committee.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createAdapter, startCursor, type WatchItem } from "@shandu/adapter-core";
import { type EvmAdapter, evmAdapterModule } from "@shandu/adapter-evm";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { codeFromBytes32, committeeInput } from "@shandu/deploy";
import { type Bls, buildBatch, bundleFor, bundleToJson, committeeToJson, loadBls } from "@shandu/proofs";
import { attestBatch, pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getBytes, Interface, toQuantity } from "ethers";

const A = 1001n;
const B = 2002n;
const DEPTH = 2;
const shandu = join(dirname(fileURLToPath(import.meta.url)), "../../cli/bin/shandu.js");

function verifyCli(args: string[]) {
  return spawnSync(process.execPath, [shandu, "verify", ...args], { encoding: "utf8" });
}

describe("EVM end to end: outbox → attestation → inbox → proof bundle → shandu verify", { timeout: 180_000 }, () => {
  let bls: Bls;
  let committee: TestCommittee;
  let nodeA: AnvilNode;
  let nodeB: AnvilNode;
  let outbox: Contract;
  let inbox: Contract;
  let recorder: Contract;
  let adapterA: EvmAdapter;
  let adapterB: EvmAdapter;
  let dir: string;

  before(async () => {
    bls = await loadBls();
    committee = pilotCommittee(bls, "evm-e2e");
    [nodeA, nodeB] = await Promise.all([startAnvil({ chainId: 31337 }), startAnvil({ chainId: 31338 })]);
    outbox = await deployContract(nodeA.wallet(0), "ShanduOutbox", [A, nodeA.wallet(1).address]);
    inbox = await deployContract(nodeB.wallet(0), "ShanduInbox", [B, committeeInput(committee.committee), []]);
    recorder = await deployContract(nodeB.wallet(0), "RecordingReceiver", []);
    dir = await mkdtemp(join(tmpdir(), "shandu-evm-e2e-"));
    const keyFile = join(dir, "relayer.key");
    await writeFile(keyFile, nodeB.accounts[3]!, { mode: 0o600 });
    const common = { kind: "evm", finalityDepthBlocks: DEPTH, pollIntervalMs: 20, maxRetries: 1, retryBackoffMs: 10 };
    adapterA = (await createAdapter(
      { evm: evmAdapterModule },
      { ...common, chainId: "1001", rpcUrl: nodeA.rpcUrl, evmChainId: nodeA.chainId, outbox: outbox.target },
      { bls },
    )) as EvmAdapter;
    adapterB = (await createAdapter(
      { evm: evmAdapterModule },
      {
        ...common,
        finalityDepthBlocks: 0,
        chainId: "2002",
        rpcUrl: nodeB.rpcUrl,
        evmChainId: nodeB.chainId,
        inbox: inbox.target,
        signer: { keyFile },
      },
      { bls },
    )) as EvmAdapter;
  });

  after(async () => {
    await adapterA?.close();
    await adapterB?.close();
    await Promise.all([nodeA?.close(), nodeB?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a message crosses A → B once, and its bundle verifies offline with both evidences", async () => {
    const recipient = getBytes(await recorder.getAddress());
    const payloads = ["low-carbon trip 12.4 km", "donation 50 credits", "volunteering 3 h"];
    for (const p of payloads) await (await outbox.getFunction("send")(B, recipient, new TextEncoder().encode(p))).wait();

    // Nothing is final until DEPTH blocks are on top; then the watch yields all three, in order.
    await nodeA.provider.send("anvil_mine", [toQuantity(DEPTH)]);
    const controller = new AbortController();
    const items: WatchItem[] = [];
    const watching = (async () => {
      for await (const item of adapterA.watch(startCursor(), { signal: controller.signal })) {
        items.push(item);
        if (items.length === payloads.length) controller.abort();
      }
    })();
    await watching;
    assert.deepEqual(
      items.map((i) => i.message.nonce),
      [0n, 1n, 2n],
    );

    const batch = buildBatch(items.map((i) => i.message));
    const attestation = attestBatch(bls, committee, [0, 1, 3], batch.header);
    const delivery = {
      header: batch.header,
      attestation,
      committees: { genesis: committee.committee, rotations: [] },
      messages: batch.messages,
      proof: batch.tree.prove([0, 1, 2]),
    };
    const first = await adapterB.submitBatch(delivery, { signal: new AbortController().signal });
    assert.deepEqual(first.executed, [0n, 1n, 2n]);
    const again = await adapterB.submitBatch(delivery, { signal: new AbortController().signal });
    assert.deepEqual(again.executed, []);
    assert.deepEqual(again.alreadyDelivered, [0n, 1n, 2n]);
    assert.equal(await recorder.getFunction("callCount")(), 3n, "executed exactly once each");

    // The bundle of the middle message, with evidence from both chains.
    const lane = { sourceChainId: A, destinationChainId: B };
    const message = batch.messages[1]!;
    const sourceEvidence = await adapterA.sourceEvidence(message);
    const destinationEvidence = await adapterB.destinationEvidence(lane, message.nonce);
    assert.ok(destinationEvidence, "the destination has evidence for a delivered message");
    const bundle = bundleFor(
      batch,
      1,
      attestation,
      { genesis: committee.committee, rotations: [] },
      { sourceEvidence, destinationEvidence },
    );
    await writeFile(join(dir, "genesis.json"), JSON.stringify(committeeToJson(committee.committee)));
    await writeFile(join(dir, "bundle.json"), JSON.stringify(bundleToJson(bundle)));

    const ok = verifyCli([join(dir, "bundle.json"), "--genesis", join(dir, "genesis.json"), "--strict", "--json"]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const report = JSON.parse(ok.stdout) as { bundles: { steps: { step: string; status: string }[] }[] };
    const status = (step: string) => report.bundles[0]?.steps.find((s) => s.step === step)?.status;
    assert.equal(status("source-evidence"), "passed");
    assert.equal(status("destination-evidence"), "passed");

    // The same bundle with one payload byte changed fails (the id no longer matches what was attested).
    const tampered = bundleToJson(bundle) as { message: { payload: string } };
    tampered.message.payload = `0x${(Number.parseInt(tampered.message.payload.slice(2, 4), 16) ^ 1).toString(16).padStart(2, "0")}${tampered.message.payload.slice(4)}`;
    await writeFile(join(dir, "tampered.json"), JSON.stringify(tampered));
    const bad = verifyCli([join(dir, "tampered.json"), "--genesis", join(dir, "genesis.json"), "--strict"]);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  });

  test("on a chain without EIP-2537 (Cancun) the inbox cannot be deployed: BLS_PRECOMPILE_MISSING", async () => {
    const cancun = await startAnvil({ hardfork: "cancun" });
    try {
      const errors = new Interface(["error ShanduRejected(bytes32 code)"]);
      await assert.rejects(
        deployContract(cancun.wallet(0), "ShanduInbox", [B, committeeInput(committee.committee), []]),
        (err: unknown) => {
          const data = (err as { data?: string }).data ?? (err as { info?: { error?: { data?: string } } }).info?.error?.data;
          assert.equal(typeof data, "string", String(err));
          const parsed = errors.parseError(data as string);
          assert.equal(codeFromBytes32(parsed!.args[0] as string), "BLS_PRECOMPILE_MISSING");
          return true;
        },
      );
    } finally {
      await cancun.close();
    }
  });
});
