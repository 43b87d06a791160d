/**
 * A cross-alliance redemption between an EVM chain and Hyperledger Fabric, through the running system.
 *
 * Alliance A (the user's) is a real anvil node with `ShanduOutbox`, `ShanduInbox`, `ShanduAlliance`,
 * `GoodDeedCredits` and `ShanduRedemption`. Alliance B (the exchange platform's) is `FabricTestPeer`, a
 * test double of a Fabric peer's Gateway and Deliver services running the real Shandu chaincode with the
 * 善度 application (`ShanduAppInbox` delivering to its `shandu` recipient). The gateway, four attesters
 * and the relayer are the assemblies the `shandu` commands run.
 *
 * Peers. The chaincode sends and accepts redemption messages as `shandu` (its recipient name), so A's
 * redemption contract names its peer on Fabric by those bytes; the chaincode names A's redemption
 * contract by its 20-byte address. Accounts: the platform is a Fabric client of Org2MSP, known on both
 * chains by its 20-byte account (the last 20 bytes of its Shandu sender); the regulator is an EVM account
 * on A (B's governance source) and a Fabric client of Org3MSP on B (A's governance source, its 32-byte
 * sender). The credits name a test wallet as their deed registry, so the test issues without deeds.
 *
 * Flow: governance both ways (platform registered on B in both registries, A's lane to B opened, the
 * issuer and the class's sponsor set on A) → credits issued on A → a redemption confirmed by the
 * platform through the chaincode (burned on A) → a second one rejected on B (refunded on A). The
 * Fabric-sourced CONFIRM and REJECT bundles verify offline with `fabric-endorsement` evidence, the MSPs
 * and the policy pinned.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { connect, type Contract as FabricContract, type Gateway, hash, signers } from "@hyperledger/fabric-gateway";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { fabricAdapterModule } from "@shandu/adapter-fabric";
import { FabricTestPeer, fabricTestMsps, shanduChaincodeRunner } from "@shandu/adapter-fabric/testing";
import { senderOfIdentity } from "@shandu/chaincode";
import { freePort } from "@shandu/cli/devnet";
import { ALLIANCE_ROLE, committeeInput, encodeAllianceGovernance } from "@shandu/deploy";
import { loadConfig } from "@shandu/gateway";
import {
  type Bls,
  bundleFromJson,
  committeeToJson,
  decodeRedemptionPayload,
  fabricEndorsementEvidenceVerifier,
  fromHex,
  loadBls,
  reasonCode,
  sha256,
  toHex,
  verifyBundle,
} from "@shandu/proofs";
import { pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getAddress, getCreateAddress, type Wallet } from "ethers";
import { stringify } from "yaml";
import { evmChainSection, prepareSystemDir, startSystem, systemConfig } from "./system.ts";
import { until } from "./wait.ts";

const EVM = 86021n;
const FABRIC = 86731n;
const CHANNEL = "shandu";
const CHAINCODE = "shandu";
/** The chaincode application's recipient name, which is also the sender of its messages. */
const APP = "shandu";
const REFUND_MARGIN = 600n;
const modules = { evm: evmAdapterModule, fabric: fabricAdapterModule };
const utf8 = (s: string) => new TextEncoder().encode(s);
const dec = new TextDecoder();
const CLASS = toHex(reasonCode("LOW_CARBON"));
/** `ShanduRedemption.State` on the EVM. */
const STATE = { LOCKED: 1n, BURNED: 2n, REFUNDED: 3n } as const;

const { msps } = fabricTestMsps();
const [org1, org2, org3] = [msps[0]!, msps[1]!, msps[2]!];
const fabricPins = {
  msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
  policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }] },
  channel: CHANNEL,
  chaincode: CHAINCODE,
};

type FabricIdentity = (typeof msps)[number]["peer"];
/** A Fabric client's 32-byte Shandu sender. */
const senderOf = (id: FabricIdentity) => senderOfIdentity(id.mspId, utf8(id.certificatePem));
/** A Fabric client's 20-byte account: the last 20 bytes of its sender. */
const accountOf = (id: FabricIdentity) => senderOf(id).slice(12);

/** The exchange platform on B: a Fabric client of Org2MSP. */
const platformId = org2.peer;
/** The regulator on B: a Fabric client of Org3MSP, A's governance source. */
const regulatorOnB = org3.peer;

let bls: Bls;
let tc: TestCommittee;
let dir: string;
let anvil: AnvilNode;
let peer: FabricTestPeer;
let evm: { outbox: Contract; inbox: Contract; alliance: Contract; credits: Contract; redemption: Contract };
let people: { user: Wallet; regulator: Wallet; issuer: Wallet; sponsor: Wallet };
const clients: { gw: Gateway; client: grpc.Client }[] = [];

function fabricClient(id: FabricIdentity) {
  const client = new grpc.Client(peer.endpoint, grpc.credentials.createInsecure());
  const gw = connect({
    client,
    identity: { mspId: id.mspId, credentials: utf8(id.certificatePem) },
    signer: signers.newPrivateKeySigner(id.privateKey),
    hash: hash.sha256,
  });
  clients.push({ gw, client });
  return gw.getNetwork(CHANNEL).getContract(CHAINCODE);
}

async function evaluate(c: FabricContract, fn: string, ...args: string[]): Promise<string> {
  return dec.decode(await c.evaluateTransaction(fn, ...args));
}

before(async () => {
  bls = await loadBls();
  tc = pilotCommittee(bls, "evm-fabric-redemption");
  dir = await mkdtemp(join(tmpdir(), "shandu-evm-fabric-redemption-"));
  anvil = await startAnvil({ chainId: 31523 });
  const deployer = anvil.wallet(0);
  people = { user: anvil.wallet(3), regulator: anvil.wallet(4), issuer: anvil.wallet(5), sponsor: anvil.wallet(6) };

  const outbox = await deployContract(deployer, "ShanduOutbox", [EVM, deployer.address]);
  const inbox = await deployContract(deployer, "ShanduInbox", [EVM, committeeInput(tc.committee), []]);
  // The alliance, credits and redemption name each other: predict their addresses from the deployer's nonce.
  const nonce = await anvil.provider.getTransactionCount(deployer.address);
  const at = (i: number) => getCreateAddress({ from: deployer.address, nonce: nonce + i });
  const alliance = await deployContract(deployer, "ShanduAlliance", [
    EVM,
    await inbox.getAddress(),
    [{ chainId: FABRIC, sender: toHex(senderOf(regulatorOnB)) }],
  ]);
  const credits = await deployContract(deployer, "GoodDeedCredits", [at(0), people.issuer.address, at(2)]);
  const redemption = await deployContract(deployer, "ShanduRedemption", [
    EVM,
    await outbox.getAddress(),
    await inbox.getAddress(),
    at(1),
    at(0),
    [{ chainId: FABRIC, redemption: toHex(utf8(APP)) }],
    REFUND_MARGIN,
  ]);
  assert.deepEqual([await alliance.getAddress(), await credits.getAddress(), await redemption.getAddress()], [at(0), at(1), at(2)]);
  evm = { outbox, inbox, alliance, credits, redemption };

  peer = await FabricTestPeer.start({
    channel: CHANNEL,
    // No recipients given: the inbox delivers to the application's (`shandu`, `settlement`).
    chaincodes: { [CHAINCODE]: shanduChaincodeRunner({ initialiserMsp: "Org1MSP" }) },
    endorsers: [org1.peer, org2.peer],
    msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
  });
  // The inbox, then the application, initialised once by the initialiser MSP.
  const admin = fabricClient(org1.peer);
  await admin.submitTransaction(
    "ShanduInbox:initialise",
    JSON.stringify({
      chainId: FABRIC.toString(),
      genesis: committeeToJson(tc.committee),
      governor: toHex(sha256(utf8("evm-fabric-redemption governor"))),
      governance: [],
    }),
  );
  await admin.submitTransaction(
    "ShanduApp:initialise",
    JSON.stringify({
      governance: [{ chainId: EVM.toString(), sender: people.regulator.address.toLowerCase() }],
      redemptionPeers: [{ chainId: EVM.toString(), recipient: (await redemption.getAddress()).toLowerCase() }],
      settlementPeers: [],
      refundMarginSeconds: REFUND_MARGIN.toString(),
    }),
  );

  const secret = await prepareSystemDir(dir, tc, "evm-fabric-redemption log");
  await secret("evm-relayer", anvil.accounts[2]!);
  await secret("fabric-relayer.pem", org1.peer.certificatePem);
  await secret("fabric-relayer.key", org1.peer.privateKey.export({ format: "pem", type: "pkcs8" }).toString());
  const grpcPort = await freePort();
  const config = systemConfig({
    chains: {
      shenzhen: evmChainSection({
        chainId: EVM,
        anvil,
        outbox: await outbox.getAddress(),
        inbox: await inbox.getAddress(),
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
  for (const c of clients) {
    c.gw.close();
    c.client.close();
  }
  await peer?.close();
  await anvil?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const view = (c: Contract, fn: string, ...args: unknown[]) => c.getFunction(fn)(...args);
const send = async (c: Contract, who: Wallet, fn: string, ...args: unknown[]) => {
  await (await (c.connect(who) as Contract).getFunction(fn)(...args)).wait();
};

test("EVM ⇄ Fabric redemption: authorised on Fabric, confirmed and rejected by the platform there, burned and refunded on the EVM", {
  timeout: 300_000,
}, async () => {
  const config = await loadConfig(join(dir, "shandu.yaml"), modules);
  const system = await startSystem(
    config,
    tc.committee.members.map((m) => m.id),
    { modules, bls },
  );
  const { gateway } = system;
  try {
    const platform = fabricClient(platformId);
    const regulatorB = fabricClient(regulatorOnB);
    const platformAccount = accountOf(platformId);
    assert.equal(
      await evaluate(platform, "ShanduApp:accountOf"),
      toHex(platformAccount),
      "the platform's account as the chaincode sees it",
    );
    const platformAddress = getAddress(toHex(platformAccount));
    const grantPlatform = encodeAllianceGovernance({
      op: "grant",
      role: ALLIANCE_ROLE.platform,
      roleChainId: FABRIC,
      account: platformAccount,
    });

    // Governance B → A: the regulator's Fabric identity sends through the outbox chaincode to A's registry.
    const allianceA = await evm.alliance.getAddress();
    const toA = [
      encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.issuer, roleChainId: EVM, account: fromHex(people.issuer.address) }),
      encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.sponsor, roleChainId: EVM, account: fromHex(people.sponsor.address) }),
      encodeAllianceGovernance({ op: "setClassSponsor", creditClass: fromHex(CLASS), sponsor: fromHex(people.sponsor.address) }),
      encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: FABRIC, capacity: 1_000n, refillPerSecond: 1n }),
      grantPlatform,
    ];
    for (const p of toA) await regulatorB.submitTransaction("ShanduOutbox:send", EVM.toString(), allianceA, toHex(p));
    // Governance A → B: the regulator's EVM account sends to the chaincode application's recipient.
    await send(evm.outbox, people.regulator, "send", FABRIC, utf8(APP), grantPlatform);

    await until(
      "A's registry to hold the governance from B",
      async () =>
        (await evm.inbox.getFunction("isDelivered")(FABRIC, BigInt(toA.length - 1))) &&
        ((await view(evm.alliance, "hasRole", ALLIANCE_ROLE.platform, FABRIC, platformAddress)) as boolean),
    );
    assert.equal(await view(evm.alliance, "hasRole", ALLIANCE_ROLE.issuer, EVM, people.issuer.address), true);
    assert.equal(await view(evm.alliance, "classSponsor", CLASS), people.sponsor.address);
    const lane = await view(evm.alliance, "laneLimit", FABRIC);
    assert.deepEqual([lane.open, lane.paused, lane.capacity, lane.refillPerSecond], [true, false, 1_000n, 1n]);
    await until(
      "B's registry to hold the platform",
      async () =>
        (await evaluate(regulatorB, "ShanduApp:hasRole", String(ALLIANCE_ROLE.platform), FABRIC.toString(), toHex(platformAccount))) ===
        "true",
    );

    // Credits on A, issued by the wallet the credits name as their deed registry.
    const user = people.user.address;
    await send(
      evm.credits,
      people.issuer,
      "issue",
      user,
      CLASS,
      100n,
      people.sponsor.address,
      toHex(sha256(utf8("deed 1"))),
      people.issuer.address,
    );
    const balances = async () => ({
      balance: (await view(evm.credits, "balanceOf", user, CLASS)) as bigint,
      locked: (await view(evm.credits, "lockedOf", user, CLASS)) as bigint,
      burned: (await view(evm.credits, "burnedOf", user, CLASS)) as bigint,
      issued: (await view(evm.credits, "issuedTo", user, CLASS)) as bigint,
    });
    assert.deepEqual(await balances(), { balance: 100n, locked: 0n, burned: 0n, issued: 100n });

    const onB = async (id: string) => JSON.parse(await evaluate(platform, "ShanduRedemption:redemption", id)) as Record<string, unknown>;
    const stateOnA = async (id: string) => (await view(evm.redemption, "state", id)) as bigint;
    const request = async (amount: bigint) => {
      const nonce = (await view(evm.redemption, "nextUserNonce", user)) as bigint;
      const id = (await view(evm.redemption, "redemptionId", user, nonce)) as string;
      const now = BigInt((await anvil.provider.getBlock("latest"))!.timestamp);
      await send(
        evm.redemption,
        people.user,
        "requestRedemption",
        FABRIC,
        platformAddress,
        CLASS,
        amount,
        now + 3600n,
        toHex(new Uint8Array(32)),
      );
      assert.equal(await stateOnA(id), STATE.LOCKED);
      await until(`redemption ${id} to be authorised on Fabric`, async () => (await onB(id)).state === "AUTHORISED");
      const b = await onB(id);
      assert.deepEqual(
        [b.peerChainId, b.user, b.platform, b.creditClass, b.amount],
        [EVM.toString(), user.toLowerCase(), toHex(platformAccount), CLASS, amount.toString()],
      );
      return id;
    };

    // 1. Confirmed by the platform through the chaincode → burned on A.
    const r1 = await request(40n);
    assert.deepEqual(await balances(), { balance: 60n, locked: 40n, burned: 0n, issued: 100n });
    const confirmed = JSON.parse(dec.decode(await platform.submitTransaction("ShanduRedemption:confirm", r1))) as {
      state: string;
      outboxNonce: string;
    };
    assert.equal(confirmed.state, "CONFIRMED");
    await until("the CONFIRM to burn the credits on A", async () => (await stateOnA(r1)) === STATE.BURNED);
    assert.equal((await onB(r1)).state, "CONFIRMED");
    assert.deepEqual(await balances(), { balance: 60n, locked: 0n, burned: 40n, issued: 100n });

    // 2. Rejected by the platform → refunded on A.
    const r2 = await request(25n);
    assert.deepEqual(await balances(), { balance: 35n, locked: 25n, burned: 40n, issued: 100n });
    const rejectedOnB = JSON.parse(dec.decode(await platform.submitTransaction("ShanduRedemption:reject", r2))) as {
      state: string;
      reason: string;
      outboxNonce: string;
    };
    assert.deepEqual([rejectedOnB.state, rejectedOnB.reason], ["REJECTED", "PLATFORM_REJECTED"]);
    await until("the REJECT to refund the credits on A", async () => (await stateOnA(r2)) === STATE.REFUNDED);
    assert.deepEqual([(await onB(r2)).state, (await onB(r2)).reason], ["REJECTED", "PLATFORM_REJECTED"]);
    assert.deepEqual(await balances(), { balance: 60n, locked: 0n, burned: 40n, issued: 100n });
    const refunds = await evm.redemption.queryFilter(evm.redemption.filters.RedemptionRefunded!());
    assert.deepEqual(
      refunds.map((e) => ("args" in e ? [e.args.id, e.args.reason] : [])),
      [[r2, toHex(reasonCode("PLATFORM_REJECTED"))]],
      "refunded once, for B's reason",
    );
    assert.equal((await evm.redemption.queryFilter(evm.redemption.filters.RedemptionBurned!())).length, 1, "burned once");
    const a1 = await view(evm.redemption, "redemption", r1);
    const a2 = await view(evm.redemption, "redemption", r2);
    assert.deepEqual([a1.refundedByTimeout, a1.lateConfirmation, a2.refundedByTimeout, a2.lateConfirmation], [false, false, false, false]);

    // The Fabric-sourced answers: fabric-endorsement evidence, MSPs and AND(Org1, Org2) pinned.
    const pinned = fabricEndorsementEvidenceVerifier(fabricPins);
    const redemptionA = fromHex(await evm.redemption.getAddress());
    for (const [nonce, id, op] of [
      [BigInt(confirmed.outboxNonce), r1, "confirm"],
      [BigInt(rejectedOnB.outboxNonce), r2, "reject"],
    ] as const) {
      const json = await until(`the bundle of the ${op} (Fabric nonce ${nonce})`, () =>
        gateway!.service.getProofBundle({ sourceChainId: FABRIC, destinationChainId: EVM, nonce }).catch(() => null),
      );
      const bundle = bundleFromJson(json);
      assert.deepEqual(bundle.message.sender, utf8(APP), "the chaincode sends as its recipient name");
      assert.deepEqual(bundle.message.recipient, redemptionA);
      const payload = decodeRedemptionPayload(bundle.message.payload);
      assert.equal(payload.op, op);
      assert.equal(toHex(payload.id), id);
      if (payload.op === "reject") assert.deepEqual(payload.reason, reasonCode("PLATFORM_REJECTED"));
      const report = verifyBundle(bundle, { trustedGenesis: tc.committee, bls, evidenceVerifiers: [pinned] });
      assert.ok(report.ok, JSON.stringify(report.steps));
      const source = report.steps.find((s) => s.step === "source-evidence");
      assert.equal(source?.status, "passed", JSON.stringify(source));
      assert.match(source!.detail, /AND\(Org1MSP, Org2MSP\)/);

      // With another CA pinned for Org2MSP, Org2's endorser is from an unknown CA.
      const unpinned = verifyBundle(bundle, {
        trustedGenesis: tc.committee,
        bls,
        evidenceVerifiers: [fabricEndorsementEvidenceVerifier({ ...fabricPins, msps: { ...fabricPins.msps, Org2MSP: [org3.caPem] } })],
      });
      assert.equal(unpinned.ok, false);
      assert.equal(unpinned.steps.find((s) => s.step === "source-evidence")?.code, "FABRIC_UNKNOWN_CA");
    }
    // The AUTHORISEs delivered to Fabric verify with their EVM source.
    const toFabric = BigInt(await evm.outbox.getFunction("nextNonce")(FABRIC));
    assert.equal(toFabric, 3n, "one governance message and two AUTHORISEs");
    for (let n = 0n; n < toFabric; n++) {
      const json = await gateway.service.getProofBundle({ sourceChainId: EVM, destinationChainId: FABRIC, nonce: n });
      const report = verifyBundle(bundleFromJson(json), { trustedGenesis: tc.committee, bls });
      assert.ok(report.ok, JSON.stringify(report.steps));
    }
  } finally {
    await system.close();
  }
});
