/**
 * EVM ⇄ Hyperledger Fabric through the running system. The EVM chain is a real anvil node with
 * `ShanduOutbox`, `ShanduInbox` (BLS through EIP-2537) and a `RecordingReceiver`; the Fabric chain is
 * `FabricTestPeer`, a test double of a Fabric peer's Gateway and Deliver services that runs the real
 * Shandu chaincode (outbox, and the inbox verifying the committee's BLS aggregate in the chaincode),
 * initialised with the same genesis committee, with a recording recipient named `recorder`.
 *
 * The gateway, four attesters and a relayer are the assemblies the `shandu` commands run, on the
 * embedded store and queue, with the Fabric adapter picked by kind from the YAML config. Fabric → EVM
 * goes first and the Fabric channel then stays idle: the attesters close the window of the last
 * message only because the adapter reports every committed block final. Messages execute once each
 * way; bundles of Fabric-sourced messages carry `fabric-endorsement` evidence that verifies offline
 * with the MSPs and an AND policy pinned, and a forged endorsement or an endorser from an unknown CA
 * fails with its code.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { connect, type Gateway, hash, signers } from "@hyperledger/fabric-gateway";
import { msp } from "@hyperledger/fabric-protos";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { type FabricAdapter, type FabricAdapterConfig, fabricAdapterModule } from "@shandu/adapter-fabric";
import { FabricTestPeer, fabricTestMsps, shanduChaincodeRunner, signP256 } from "@shandu/adapter-fabric/testing";
import { recordingRecipient } from "@shandu/chaincode/testing";
import { freePort } from "@shandu/cli/devnet";
import { committeeInput } from "@shandu/deploy";
import { loadConfig } from "@shandu/gateway";
import {
  type Bls,
  bundleFromJson,
  committeeToJson,
  type EvidenceVerifier,
  fabricEndorsementEvidenceVerifier,
  fromHex,
  loadBls,
  sha256,
  toHex,
  verifyBundle,
} from "@shandu/proofs";
import { pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import type { Contract } from "ethers";
import { stringify } from "yaml";
import { evmChainSection, prepareSystemDir, startSystem, systemConfig } from "./system.ts";
import { until } from "./wait.ts";

const EVM = 86021n;
const FABRIC = 86731n;
const CHANNEL = "shandu";
const CHAINCODE = "shandu";
const COUNT = 5;
const modules = { evm: evmAdapterModule, fabric: fabricAdapterModule };
const utf8 = (s: string) => new TextEncoder().encode(s);
const dec = new TextDecoder();

const { msps, rogue } = fabricTestMsps();
const [org1, org2, org3] = [msps[0]!, msps[1]!, msps[2]!];
/** The pins of an offline verifier: the channel's MSPs, and AND(Org1MSP, Org2MSP) as the outbox's policy. */
const fabricPins = {
  msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
  policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }] },
  channel: CHANNEL,
  chaincode: CHAINCODE,
};

let bls: Bls;
let tc: TestCommittee;
let dir: string;
let anvil: AnvilNode;
let peer: FabricTestPeer;
let evm: { outbox: Contract; inbox: Contract; receiver: Contract };
/** A Fabric client of Org2MSP: sends through the outbox chaincode. */
let fabricUser: { gw: Gateway; client: grpc.Client };

function fabricClient(id: { mspId: string; certificatePem: string; privateKey: Parameters<typeof signers.newPrivateKeySigner>[0] }) {
  const client = new grpc.Client(peer.endpoint, grpc.credentials.createInsecure());
  const gw = connect({
    client,
    identity: { mspId: id.mspId, credentials: utf8(id.certificatePem) },
    signer: signers.newPrivateKeySigner(id.privateKey),
    hash: hash.sha256,
  });
  return { gw, client };
}

/** The recording recipient's committed state on the Fabric channel (`app/recorder/…`). */
function recorded(key: string): unknown {
  const v = peer.committedState(CHAINCODE, `app/recorder/${key}`);
  return v === undefined ? undefined : JSON.parse(dec.decode(v));
}

before(async () => {
  bls = await loadBls();
  tc = pilotCommittee(bls, "evm-fabric");
  dir = await mkdtemp(join(tmpdir(), "shandu-evm-fabric-"));
  anvil = await startAnvil({ chainId: 31522 });
  const deployer = anvil.wallet(0);
  evm = {
    outbox: await deployContract(deployer, "ShanduOutbox", [EVM, deployer.address]),
    inbox: await deployContract(deployer, "ShanduInbox", [EVM, committeeInput(tc.committee), []]),
    receiver: await deployContract(deployer, "RecordingReceiver", []),
  };

  peer = await FabricTestPeer.start({
    channel: CHANNEL,
    chaincodes: {
      [CHAINCODE]: shanduChaincodeRunner({ initialiserMsp: "Org1MSP", recipients: new Map([["recorder", recordingRecipient]]) }),
    },
    endorsers: [org1.peer, org2.peer],
    msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
  });
  // The inbox is initialised once, by the initialiser MSP, with the genesis committee every role trusts.
  const admin = fabricClient(org1.peer);
  try {
    await admin.gw
      .getNetwork(CHANNEL)
      .getContract(CHAINCODE)
      .submitTransaction(
        "ShanduInbox:initialise",
        JSON.stringify({
          chainId: FABRIC.toString(),
          genesis: committeeToJson(tc.committee),
          governor: toHex(sha256(utf8("evm-fabric governor"))),
          governance: [],
        }),
      );
  } finally {
    admin.gw.close();
    admin.client.close();
  }
  fabricUser = fabricClient(org2.peer);

  // Keys and the config every role reads.
  const secret = await prepareSystemDir(dir, tc, "evm-fabric log");
  await secret("evm-relayer", anvil.accounts[2]!);
  await secret("fabric-relayer.pem", org1.peer.certificatePem);
  await secret("fabric-relayer.key", org1.peer.privateKey.export({ format: "pem", type: "pkcs8" }).toString());
  const grpcPort = await freePort();
  const config = systemConfig({
    chains: {
      shenzhen: evmChainSection({
        chainId: EVM,
        anvil,
        outbox: await evm.outbox.getAddress(),
        inbox: await evm.inbox.getAddress(),
        keyName: "evm-relayer",
      }),
      "hangzhou-fabric": {
        kind: "fabric",
        chainId: FABRIC.toString(),
        peerEndpoint: peer.endpoint,
        channel: CHANNEL,
        chaincode: CHAINCODE,
        mspId: "Org1MSP",
        certFile: "./keys/fabric-relayer.pem",
        keyFile: "./keys/fabric-relayer.key",
      },
    },
    lanes: [
      ["shenzhen", "hangzhou-fabric"],
      ["hangzhou-fabric", "shenzhen"],
    ],
    grpcPort: grpcPort,
    members: tc.committee.members.map((m) => m.id),
  });
  await writeFile(join(dir, "shandu.yaml"), stringify(config));
});

after(async () => {
  fabricUser?.gw.close();
  fabricUser?.client.close();
  await peer?.close();
  await anvil?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A copy of a bundle's JSON with its Fabric source evidence changed by `edit`. */
function withEvidence(
  json: unknown,
  edit: (evidence: { proposalResponsePayload: string; endorsements: { endorser: string; signature: string }[] }) => void,
) {
  const copy = structuredClone(json) as { sourceEvidence: Parameters<typeof edit>[0] };
  edit(copy.sourceEvidence);
  return copy;
}

/** An endorsement of `prp` by `id`, claiming MSP `mspId`, as a peer signs one: over `payload ‖ endorser`. */
function endorsement(prp: string, mspId: string, id: { certificatePem: string; privateKey: Parameters<typeof signP256>[0] }) {
  const sid = new msp.SerializedIdentity();
  sid.setMspid(mspId);
  sid.setIdBytes(utf8(id.certificatePem));
  const endorser = sid.serializeBinary();
  const payload = fromHex(prp);
  const signed = new Uint8Array(payload.length + endorser.length);
  signed.set(payload);
  signed.set(endorser, payload.length);
  return { endorser: toHex(endorser), signature: toHex(signP256(id.privateKey, signed)) };
}

function evidenceStep(json: unknown, verifier: EvidenceVerifier) {
  const report = verifyBundle(bundleFromJson(json), { trustedGenesis: tc.committee, bls, evidenceVerifiers: [verifier] });
  return { report, source: report.steps.find((s) => s.step === "source-evidence") };
}

test("EVM ⇄ Fabric: attested with BLS, delivered once each way, Fabric bundles carry endorsements that verify offline", {
  timeout: 240_000,
}, async () => {
  const config = await loadConfig(join(dir, "shandu.yaml"), modules);
  const fabricConfig = config.chains.get("hangzhou-fabric")!.adapter as FabricAdapterConfig;
  assert.equal(fabricConfig.kind, "fabric");
  assert.ok(fabricConfig.certFile?.startsWith(dir) && fabricConfig.keyFile?.startsWith(dir), "paths are resolved against the file");
  const system = await startSystem(
    config,
    tc.committee.members.map((m) => m.id),
    { modules, bls },
  );
  const { gateway } = system;
  try {
    // Fabric → EVM first. After the last send nothing is committed on the channel: the last window
    // closes only because the adapter reports idle blocks final.
    const outbox = fabricUser.gw.getNetwork(CHANNEL).getContract(CHAINCODE);
    const receiver = await evm.receiver.getAddress();
    for (let i = 0; i < COUNT; i++) {
      await outbox.submitTransaction("ShanduOutbox:send", EVM.toString(), receiver, toHex(utf8(`hangzhou → shenzhen deed #${i}`)));
    }
    const heightAfterSends = peer.height;
    await until(
      "the EVM receiver to record every Fabric message",
      async () => BigInt(await evm.receiver.getFunction("callCount")()) === BigInt(COUNT),
    );
    const calls = [];
    for (let i = 0; i < COUNT; i++) {
      const c = await evm.receiver.getFunction("calls")(i);
      calls.push([BigInt(c.sourceChainId), BigInt(c.nonce), dec.decode(fromHex(c.payload))]);
    }
    assert.deepEqual(
      calls.sort((a, b) => Number((a[1] as bigint) - (b[1] as bigint))),
      Array.from({ length: COUNT }, (_, i) => [FABRIC, BigInt(i), `hangzhou → shenzhen deed #${i}`]),
      "each Fabric message executed once, in nonce order",
    );
    assert.equal(peer.height, heightAfterSends, "nothing was committed on the channel while the Fabric messages were relayed");

    // EVM → Fabric: delivered to the chaincode inbox and run by its `recorder` recipient once each.
    const evmOutbox = evm.outbox.connect(anvil.wallet(1)) as Contract;
    for (let i = 0; i < COUNT; i++) {
      await (await evmOutbox.getFunction("send")(FABRIC, utf8("recorder"), utf8(`shenzhen → hangzhou redemption #${i}`))).wait();
    }
    await until("the Fabric recorder to count every EVM message", async () => recorded("count") === COUNT);
    const adapter = (await fabricAdapterModule.create(fabricConfig, { bls })) as FabricAdapter;
    try {
      const lane = { sourceChainId: EVM, destinationChainId: FABRIC };
      for (let n = 0; n < COUNT; n++) {
        const r = recorded(`received/${EVM}/${n}`) as { payload: string } | undefined;
        assert.equal(dec.decode(fromHex(r!.payload)), `shenzhen → hangzhou redemption #${n}`);
        assert.deepEqual(await adapter.deliveryStatus(lane, BigInt(n)), { status: "delivered", lanePaused: false });
      }
      assert.deepEqual(await adapter.deliveryStatus(lane, BigInt(COUNT)), { status: "not-delivered", lanePaused: false });
      assert.deepEqual(JSON.parse(dec.decode(await adapter.evaluate("ShanduInbox:lane", [EVM.toString()]))), {
        next: String(COUNT),
        paused: false,
      });
    } finally {
      await adapter.close();
    }
    assert.equal(recorded("count"), COUNT, "executed once each");

    // Bundles of Fabric-sourced messages: fabric-endorsement evidence, pinned to the MSPs and AND(Org1, Org2).
    const pinned = fabricEndorsementEvidenceVerifier(fabricPins);
    for (let n = 0n; n < BigInt(COUNT); n++) {
      const json = await gateway.service.getProofBundle({ sourceChainId: FABRIC, destinationChainId: EVM, nonce: n });
      const { report, source } = evidenceStep(json, pinned);
      assert.ok(report.ok, JSON.stringify(report.steps));
      assert.equal(source?.status, "passed", JSON.stringify(source));
      assert.match(source!.detail, /AND\(Org1MSP, Org2MSP\)/);

      // A forged endorsement: Org2's identity, signed with Org3's peer key.
      const forged = withEvidence(json, (e) => {
        e.endorsements[1] = endorsement(e.proposalResponsePayload, "Org2MSP", {
          certificatePem: org2.peer.certificatePem,
          privateKey: org3.peer.privateKey,
        });
      });
      const f = evidenceStep(forged, pinned);
      assert.equal(f.report.ok, false);
      assert.equal(f.source?.status, "failed");
      assert.equal(f.source?.code, "FABRIC_ENDORSEMENT_INVALID");

      // An endorser whose certificate a CA outside the channel issued, claiming Org1MSP.
      const unknownCa = withEvidence(json, (e) => {
        e.endorsements[0] = endorsement(e.proposalResponsePayload, "Org1MSP", rogue.peer);
      });
      const u = evidenceStep(unknownCa, pinned);
      assert.equal(u.report.ok, false);
      assert.equal(u.source?.code, "FABRIC_UNKNOWN_CA");
    }
    // Bundles of messages delivered to Fabric verify with their EVM source.
    for (let n = 0n; n < BigInt(COUNT); n++) {
      const json = await gateway.service.getProofBundle({ sourceChainId: EVM, destinationChainId: FABRIC, nonce: n });
      const report = verifyBundle(bundleFromJson(json), { trustedGenesis: tc.committee, bls });
      assert.ok(report.ok, JSON.stringify(report.steps));
    }
  } finally {
    await system.close();
  }
});
