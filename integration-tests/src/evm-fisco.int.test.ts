/**
 * EVM ⇄ FISCO BCOS through the running system. The EVM chain is a real anvil node with `ShanduInbox`
 * (BLS through EIP-2537); the FISCO chain is `fiscoTestServer`, a test double of a 3.x node's JSON-RPC
 * that checks and executes signed TARS transactions on an anvil node behind it and seals its blocks
 * with four sealers. FISCO has no BLS precompile, so its inbox is `ShanduNativeInbox`, which checks the
 * committee's secp256k1 co-signatures (docs/protocol.md §6.5).
 *
 * The gateway, four attesters (each with a BLS and a secp256k1 key) and a relayer are the assemblies the
 * `shandu` commands run, on the embedded store and queue. Messages go both ways and execute once; the
 * bundles of FISCO-sourced messages carry sealed-receipt evidence that verifies offline with the sealers
 * pinned; a delivery whose native co-signatures miss the quorum, or carry a forged one, is refused by
 * the inbox with its code and executes nothing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Delivery } from "@shandu/adapter-core";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { type FiscoAdapter, type FiscoAdapterConfig, FiscoRpcClient, fiscoAdapterModule } from "@shandu/adapter-fisco-bcos";
import { type FiscoTestServer, startFiscoTestServer } from "@shandu/adapter-fisco-bcos/testing";
import { freePort } from "@shandu/cli/devnet";
import { committeeInput, loadArtifact, nativeInboxDeployArgs } from "@shandu/deploy";
import { loadConfig } from "@shandu/gateway";
import {
  addressOf,
  type Bls,
  batchSigningRoot,
  buildBatch,
  bundleFromJson,
  committeeSetHash,
  fiscoDeliveryEvidenceVerifier,
  fiscoReceiptEvidenceVerifier,
  loadBls,
  MessageKind,
  publicKeyOf,
  sha256,
  toHex,
  verifyBundle,
} from "@shandu/proofs";
import { pilotCommittee, signNativeAs, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getBytes, Interface } from "ethers";
import { stringify } from "yaml";
import { evmChainSection, prepareSystemDir, startSystem, systemConfig } from "./system.ts";
import { until } from "./wait.ts";

const EVM = 86021n;
const FISCO = 86571n;
const modules = { evm: evmAdapterModule, "fisco-bcos": fiscoAdapterModule };
const shandu = join(dirname(fileURLToPath(import.meta.url)), "../../cli/bin/shandu.js");
const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = (h: string) => getBytes(h.startsWith("0x") ? h : `0x${h}`);

const outboxAbi = new Interface(["function send(uint64 destinationChainId, bytes recipient, bytes payload) returns (uint64)"]);
const ledgerAbi = new Interface([
  "function fromChain(uint64) view returns (uint256)",
  "function timesReceived(uint64, uint64) view returns (uint256)",
]);

let bls: Bls;
let tc: TestCommittee;
let dir: string;
let anvil: AnvilNode;
let fisco: FiscoTestServer;
let fiscoClient: FiscoRpcClient;
const fiscoDeployer = sha256(utf8("evm-fisco deployer"));
const fiscoUser = sha256(utf8("evm-fisco user"));
const fiscoRelayer = sha256(utf8("evm-fisco relayer"));
const sealerKeys = [1, 2, 3, 4].map((i) => sha256(utf8(`evm-fisco sealer ${i}`)));
let evm: { outbox: Contract; inbox: Contract; ledger: Contract };
let fiscoAddr: { outbox: Uint8Array; inbox: Uint8Array; ledger: Uint8Array };

/** Sends a signed TARS transaction to the FISCO test server; returns its receipt, which must succeed. */
async function fiscoTx(key: Uint8Array, input: Uint8Array, to?: Uint8Array) {
  const r = await fiscoClient.sendTransaction(fisco.transaction({ secretKey: key, input, ...(to ? { to } : {}) }));
  assert.equal(r.data.status, 0, `FISCO transaction failed with status ${r.data.status}: ${toHex(r.data.output)}`);
  return r;
}

async function fiscoDeploy(name: string, args: readonly unknown[]): Promise<Uint8Array> {
  const a = loadArtifact(name);
  const code = new Interface(a.abi as never).encodeDeploy(args as unknown[]);
  const r = await fiscoTx(fiscoDeployer, getBytes(a.bytecode + code.slice(2)));
  return bytes(r.data.contractAddress);
}

async function fiscoView(to: Uint8Array, fn: string, args: unknown[]): Promise<bigint> {
  const out = await fiscoClient.call(to, getBytes(ledgerAbi.encodeFunctionData(fn, args)));
  return BigInt(toHex(out));
}

before(async () => {
  bls = await loadBls();
  tc = pilotCommittee(bls, "evm-fisco", 0n, ["secp256k1"]);
  dir = await mkdtemp(join(tmpdir(), "shandu-evm-fisco-"));
  anvil = await startAnvil({ chainId: 31521 });
  fisco = await startFiscoTestServer({ suite: "ecdsa", sealerKeys, signers: [0, 1, 3] });
  fiscoClient = new FiscoRpcClient({ url: fisco.url, group: fisco.group });

  const deployer = anvil.wallet(0);
  const inbox = await deployContract(deployer, "ShanduInbox", [EVM, committeeInput(tc.committee), []]);
  evm = {
    outbox: await deployContract(deployer, "ShanduOutbox", [EVM, deployer.address]),
    inbox,
    ledger: await deployContract(deployer, "GoodDeedLedger", [await inbox.getAddress()]),
  };
  const governor = toHex(addressOf("ecdsa", publicKeyOf("ecdsa", fiscoDeployer)));
  const nativeInbox = await fiscoDeploy(
    "ShanduNativeInbox",
    nativeInboxDeployArgs({ chainId: FISCO, committee: tc.committee, scheme: "secp256k1" }),
  );
  fiscoAddr = {
    outbox: await fiscoDeploy("ShanduOutbox", [FISCO, governor]),
    inbox: nativeInbox,
    ledger: await fiscoDeploy("GoodDeedLedger", [toHex(nativeInbox)]),
  };

  // Keys and the config every role reads.
  const secret = await prepareSystemDir(dir, tc, "evm-fisco log");
  for (const [i, m] of tc.committee.members.entries()) await secret(`${m.id}.secp256k1`, tc.nativeSecretKeys.secp256k1![i]!);
  await secret("evm-relayer", anvil.accounts[2]!);
  await secret("fisco-relayer", fiscoRelayer);
  const grpc = await freePort();
  const config = systemConfig({
    chains: {
      shenzhen: evmChainSection({
        chainId: EVM,
        anvil,
        outbox: await evm.outbox.getAddress(),
        inbox: await evm.inbox.getAddress(),
        keyName: "evm-relayer",
      }),
      shanghai: {
        kind: "fisco-bcos",
        chainId: FISCO.toString(),
        rpcUrl: fisco.url,
        group: fisco.group,
        fiscoChainId: fisco.chainId,
        suite: "ecdsa",
        outbox: toHex(fiscoAddr.outbox),
        inbox: toHex(fiscoAddr.inbox),
        sealers: fisco.sealers.map((s) => toHex(s)),
        pollIntervalMs: 100,
        signer: { keyFile: "./keys/fisco-relayer" },
      },
    },
    lanes: [
      ["shenzhen", "shanghai"],
      ["shanghai", "shenzhen"],
    ],
    grpcPort: grpc,
    members: tc.committee.members.map((m) => m.id),
    attesterExtra: (id) => ({ secp256k1KeyFile: `./keys/${id}.secp256k1` }),
  });
  await writeFile(join(dir, "shandu.yaml"), stringify(config));
});

after(async () => {
  await fisco?.close();
  await anvil?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("EVM ⇄ FISCO BCOS: attested with BLS and native co-signatures, delivered once each way, bundles verify offline", {
  timeout: 240_000,
}, async () => {
  const config = await loadConfig(join(dir, "shandu.yaml"), modules);
  const system = await startSystem(
    config,
    tc.committee.members.map((m) => m.id),
    { modules, bls },
  );
  const { gateway } = system;
  try {
    const COUNT = 6;
    const evmOutbox = evm.outbox.connect(anvil.wallet(1)) as Contract;
    for (let i = 0; i < COUNT; i++) {
      await (await evmOutbox.getFunction("send")(FISCO, fiscoAddr.ledger, utf8(`shenzhen → shanghai redemption #${i}`))).wait();
      await fiscoTx(
        fiscoUser,
        getBytes(outboxAbi.encodeFunctionData("send", [EVM, await evm.ledger.getAddress(), utf8(`shanghai → shenzhen trip #${i}`)])),
        fiscoAddr.outbox,
      );
    }
    await until("both ledgers to count every message", async () => {
      const onFisco = await fiscoView(fiscoAddr.ledger, "fromChain", [EVM]);
      const onEvm = BigInt(await evm.ledger.getFunction("fromChain")(FISCO));
      return onFisco === BigInt(COUNT) && onEvm === BigInt(COUNT);
    });
    for (let n = 0; n < COUNT; n++) {
      assert.equal(await fiscoView(fiscoAddr.ledger, "timesReceived", [EVM, n]), 1n, `EVM → FISCO nonce ${n} once`);
      assert.equal(BigInt(await evm.ledger.getFunction("timesReceived")(FISCO, n)), 1n, `FISCO → EVM nonce ${n} once`);
    }

    // Bundles of FISCO-sourced messages: sealed-receipt source evidence, pinned to the four sealers.
    const bundles = join(dir, "bundles");
    await mkdir(bundles);
    const pinned = fiscoReceiptEvidenceVerifier({
      sealers: { [FISCO.toString()]: { suite: "ecdsa", nodeIds: fisco.sealers.map((s) => toHex(s)) } },
      outboxes: { [FISCO.toString()]: toHex(fiscoAddr.outbox) },
    });
    for (let n = 0n; n < BigInt(COUNT); n++) {
      const json = await gateway.service.getProofBundle({ sourceChainId: FISCO, destinationChainId: EVM, nonce: n });
      await writeFile(join(bundles, `fisco-${n}.json`), JSON.stringify(json));
      const report = verifyBundle(bundleFromJson(json), { trustedGenesis: tc.committee, bls, evidenceVerifiers: [pinned] });
      assert.ok(report.ok, JSON.stringify(report.steps));
      const source = report.steps.find((s) => s.step === "source-evidence");
      assert.equal(source?.status, "passed", JSON.stringify(source));
      assert.doesNotMatch(source?.detail ?? "", /header's own/, "checked against the pinned sealers");
    }
    // Bundles of messages delivered to FISCO: sealed delivery-receipt evidence, pinned to the sealers and the inbox.
    const pinnedDelivery = fiscoDeliveryEvidenceVerifier({
      sealers: { [FISCO.toString()]: { suite: "ecdsa", nodeIds: fisco.sealers.map((s) => toHex(s)) } },
      inboxes: { [FISCO.toString()]: toHex(fiscoAddr.inbox) },
    });
    for (let n = 0n; n < BigInt(COUNT); n++) {
      const json = await gateway.service.getProofBundle({ sourceChainId: EVM, destinationChainId: FISCO, nonce: n });
      await writeFile(join(bundles, `evm-${n}.json`), JSON.stringify(json));
      const report = verifyBundle(bundleFromJson(json), { trustedGenesis: tc.committee, bls, evidenceVerifiers: [pinnedDelivery] });
      assert.ok(report.ok, JSON.stringify(report.steps));
      const delivered = report.steps.find((s) => s.step === "destination-evidence");
      assert.equal(delivered?.status, "passed", JSON.stringify(delivered));
    }
    const v = spawnSync(process.execPath, [shandu, "verify", bundles, "--genesis", join(dir, "genesis.json"), "--strict"], {
      encoding: "utf8",
    });
    assert.equal(v.status, 0, v.stdout + v.stderr);
  } finally {
    await system.close();
  }
});

test("the native inbox refuses a non-quorum or forged co-signature with its code, and executes nothing", { timeout: 120_000 }, async () => {
  const config = await loadConfig(join(dir, "shandu.yaml"), modules);
  const adapter = (await fiscoAdapterModule.create(config.chains.get("shanghai")!.adapter as FiscoAdapterConfig, { bls })) as FiscoAdapter;
  try {
    // A batch for a nonce far above the lane's: its messages are never sent by the outbox.
    const messages = [0, 1].map((i) => ({
      version: 1,
      sourceChainId: EVM,
      destinationChainId: FISCO,
      nonce: 1000n + BigInt(i),
      kind: MessageKind.app,
      sender: new Uint8Array(20).fill(9),
      recipient: fiscoAddr.ledger,
      payload: utf8(`forged #${i}`),
      source: { blockNumber: 1n, txHash: sha256(utf8(`forged ${i}`)), logIndex: 0 },
    }));
    const batch = buildBatch(messages);
    const root = batchSigningRoot(committeeSetHash(tc.committee), 0n, batch.header);
    const delivery = (nativeSigners: number[], forge = false): Delivery => {
      const native = signNativeAs(tc, "secp256k1", nativeSigners, root);
      if (forge) native.signatures[1] = signNativeAs(tc, "secp256k1", [2], root).signatures[0]!;
      return {
        header: batch.header,
        attestation: {
          epoch: 0n,
          committeeSetHash: committeeSetHash(tc.committee),
          signers: native.signers,
          signature: new Uint8Array(96),
        },
        nativeAttestation: native,
        committees: { genesis: tc.committee, rotations: [] },
        messages: batch.messages,
        proof: batch.tree.prove([0, 1]),
      };
    };
    const signal = new AbortController().signal;
    const before = await fiscoView(fiscoAddr.ledger, "fromChain", [EVM]);
    const blockBefore = fisco.blockNumber();
    const refused = (reason: string) => (e: { code?: string; facts?: { reason?: string } }) =>
      e.code === "DELIVERY_REJECTED" && e.facts?.reason === reason;
    await assert.rejects(adapter.submitBatch(delivery([0, 3]), { signal }), refused("QUORUM_WEIGHT_NOT_MET"));
    await assert.rejects(adapter.submitBatch(delivery([0, 1, 2]), { signal }), refused("QUORUM_GROUP_NOT_MET"));
    await assert.rejects(adapter.submitBatch(delivery([0, 1, 3], true), { signal }), refused("NATIVE_SIGNATURE_INVALID"));
    const { nativeAttestation: _drop, ...noNative } = delivery([0, 1, 3]);
    await assert.rejects(adapter.submitBatch(noNative, { signal }), refused("NATIVE_ATTESTATION_MISSING"));
    assert.equal(await fiscoView(fiscoAddr.ledger, "fromChain", [EVM]), before, "nothing executed");
    assert.equal(fisco.blockNumber(), blockBefore, "refused before sending: no transaction was spent");
    assert.equal((await adapter.deliveryStatus({ sourceChainId: EVM, destinationChainId: FISCO }, 1000n)).status, "not-delivered");
    // The same batch with a quorum of genuine co-signatures is accepted (the inbox verifies, not the relayer).
    const ok = await adapter.submitBatch(delivery([0, 1, 3]), { signal });
    assert.deepEqual(ok.executed, [1000n, 1001n]);
    const again = await adapter.submitBatch(delivery([0, 1, 3]), { signal });
    assert.equal(again.tx, null, "delivered before: no transaction");
    assert.deepEqual(again.alreadyDelivered, [1000n, 1001n]);
  } finally {
    await adapter.close();
  }
});
