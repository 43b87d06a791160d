/**
 * A FISCO BCOS (national cryptography) → EVM lane end to end: messages emitted by the outbox on a FISCO
 * chain — served by `fakeFiscoNode`, a test double of a 3.x node's JSON-RPC — are watched by the FISCO
 * adapter, attested by the pilot committee, delivered by the EVM adapter to `ShanduInbox` on a real
 * anvil node, and each message's bundle, with the sealed FISCO receipt as source evidence and the EVM
 * delivery as destination evidence, verifies offline with `shandu verify --strict`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createAdapter, startCursor, type WatchItem } from "@shandu/adapter-core";
import { type EvmAdapter, evmAdapterModule } from "@shandu/adapter-evm";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { type FiscoAdapter, fiscoAdapterModule } from "@shandu/adapter-fisco-bcos";
import { type FakeFiscoNode, startFakeFiscoNode } from "@shandu/adapter-fisco-bcos/testing";
import { committeeInput } from "@shandu/deploy";
import {
  type Bls,
  buildBatch,
  bundleFor,
  bundleToJson,
  committeeToJson,
  concatBytes,
  encodeMessage,
  loadBls,
  MessageKind,
  messageSentTopic,
  sm3,
  toHex,
} from "@shandu/proofs";
import { attestBatch, pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getBytes } from "ethers";

const FISCO = 86010n;
const EVM = 2002n;
const OUTBOX = new Uint8Array(20).fill(0x5f);
const shandu = join(dirname(fileURLToPath(import.meta.url)), "../../cli/bin/shandu.js");
const word = (v: bigint) => {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setBigUint64(24, v);
  return out;
};

let bls: Bls;
let committee: TestCommittee;
let fisco: FakeFiscoNode;
let anvil: AnvilNode;
let inbox: Contract;
let ledger: Contract;
let dir: string;

before(async () => {
  bls = await loadBls();
  committee = pilotCommittee(bls, "fisco-evm");
  fisco = await startFakeFiscoNode({ suite: "sm", sealerKeys: [1, 2, 3, 4].map((k) => sm3(Uint8Array.of(k, 86))), signers: [0, 1, 3] });
  anvil = await startAnvil({ chainId: 31339 });
  inbox = await deployContract(anvil.wallet(0), "ShanduInbox", [EVM, committeeInput(committee.committee), []]);
  ledger = await deployContract(anvil.wallet(0), "GoodDeedLedger", [await inbox.getAddress()]);
  dir = await mkdtemp(join(tmpdir(), "shandu-fisco-evm-"));
});

after(async () => {
  await fisco?.close();
  await anvil?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Emits MessageSent for nonces `nonces` from the FISCO outbox, one transaction each, in one block. */
function emit(nonces: bigint[], recipient: Uint8Array): void {
  const txs = nonces.map((nonce) => {
    const txHash = sm3(concatBytes(Uint8Array.of(0x7a), word(nonce)));
    const enc = encodeMessage({
      version: 1,
      sourceChainId: FISCO,
      destinationChainId: EVM,
      nonce,
      kind: MessageKind.app,
      sender: new Uint8Array(20).fill(0x11),
      recipient,
      payload: new TextEncoder().encode(JSON.stringify({ deed: "low-carbon trip", km: 10 + Number(nonce), consent: `c-${nonce}` })),
      source: { blockNumber: 0n, txHash, logIndex: 0 },
    });
    const body = enc.subarray(0, enc.length - 44);
    const padded = new Uint8Array(Math.ceil(body.length / 32) * 32);
    padded.set(body);
    const log = {
      address: toHex(OUTBOX),
      topics: [messageSentTopic("sm"), word(EVM), word(nonce)],
      data: concatBytes(word(32n), word(BigInt(body.length)), padded),
    };
    return {
      txHash,
      receipt: {
        version: 0,
        gasUsed: "30000",
        contractAddress: "",
        status: 0,
        output: new Uint8Array(0),
        logs: [log],
        effectiveGasPrice: "",
      },
    };
  });
  fisco.addBlock(txs);
}

test("FISCO (SM) → EVM: watched, attested, delivered once, and every bundle verifies offline", { timeout: 120_000 }, async () => {
  const source = (await createAdapter(
    { "fisco-bcos": fiscoAdapterModule },
    {
      kind: "fisco-bcos",
      chainId: FISCO.toString(),
      rpcUrl: fisco.url,
      suite: "sm",
      outbox: toHex(OUTBOX),
      sealers: fisco.sealers.map((s) => toHex(s)),
      pollIntervalMs: 20,
    },
    { bls },
  )) as FiscoAdapter;
  const keyFile = join(dir, "relayer.key");
  await writeFile(keyFile, anvil.accounts[3]!, { mode: 0o600 });
  const destination = (await createAdapter(
    { evm: evmAdapterModule },
    {
      kind: "evm",
      chainId: EVM.toString(),
      rpcUrl: anvil.rpcUrl,
      evmChainId: anvil.chainId,
      inbox: inbox.target,
      finalityDepthBlocks: 0,
      pollIntervalMs: 20,
      signer: { keyFile },
    },
    { bls },
  )) as EvmAdapter;
  try {
    const recipient = getBytes(await ledger.getAddress());
    emit([0n, 1n], recipient);
    emit([2n], recipient);

    const controller = new AbortController();
    const items: WatchItem[] = [];
    for await (const item of source.watch(startCursor(), { signal: controller.signal })) {
      items.push(item);
      if (items.length === 3) controller.abort();
    }
    assert.deepEqual(
      items.map((i) => [i.message.nonce, i.message.source.blockNumber]),
      [
        [0n, 1n],
        [1n, 1n],
        [2n, 2n],
      ],
    );

    const batch = buildBatch(items.map((i) => i.message));
    const attestation = attestBatch(bls, committee, [0, 1, 3], batch.header);
    const committees = { genesis: committee.committee, rotations: [] };
    const receipt = await destination.submitBatch(
      { header: batch.header, attestation, committees, messages: batch.messages, proof: batch.tree.prove([0, 1, 2]) },
      { signal: new AbortController().signal },
    );
    assert.deepEqual(receipt.executed, [0n, 1n, 2n]);
    assert.equal(await ledger.getFunction("fromChain")(FISCO), 3n);

    await writeFile(join(dir, "genesis.json"), JSON.stringify(committeeToJson(committee.committee)));
    const lane = { sourceChainId: FISCO, destinationChainId: EVM };
    for (const [i, m] of batch.messages.entries()) {
      const bundle = bundleFor(batch, i, attestation, committees, {
        sourceEvidence: await source.sourceEvidence(m),
        destinationEvidence: await destination.destinationEvidence(lane, m.nonce),
      });
      await writeFile(join(dir, `bundle-${i}.json`), JSON.stringify(bundleToJson(bundle)));
    }
    const ok = spawnSync(process.execPath, [shandu, "verify", dir, "--genesis", join(dir, "genesis.json"), "--strict", "--json"], {
      encoding: "utf8",
    });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const report = JSON.parse(ok.stdout) as { bundles: { steps: { step: string; status: string; detail?: string }[] }[] };
    assert.equal(report.bundles.length, 3);
    for (const b of report.bundles) {
      const src = b.steps.find((s) => s.step === "source-evidence");
      assert.equal(src?.status, "passed");
      assert.match(src?.detail ?? "", /FISCO block #[12]/);
    }

    // Delivery to FISCO needs the native-key inbox: refused with the reason, never half-done.
    await assert.rejects(source.deliveryStatus({ sourceChainId: EVM, destinationChainId: FISCO }, 0n), { code: "INVALID_CONFIG" });
  } finally {
    await source.close();
    await destination.close();
  }
});
