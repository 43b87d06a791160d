/**
 * The low-carbon pilot, end to end on the devnet (`shandu devnet --scenario low-carbon`): the keynote's
 * story between Shanghai's low-carbon alliance (chain A) and Shenzhen's welfare alliance (chain B).
 *
 *  1. The regulator registers the institutions on both chains by attested governance messages (each
 *     chain's registry obeys the regulator's account on the other chain, under the committee's quorum).
 *  2. Three measuring institutions form the measurer committee; the transit platform records three
 *     trips, each co-signed by a quorum of them, with the trip details sealed to the supervisor.
 *  3. The environmental bureau's rule turns the trips into credits funded by the green travel fund.
 *  4. The citizen redeems four times at two merchants in Shenzhen: two are confirmed (credits burned),
 *     one rejected (refunded), one never answered (refunded after the timeout).
 *  5. The clearing bank computes the window's settlement, publishes its root (attested to chain B) and
 *     marks each line settled with its payment reference.
 *  6. Every message's proof bundle is written; the regulator opens one envelope; the auditor's check
 *     (`shandu audit`) runs over the bundles.
 *
 * The integration tests reuse {@link deployApplication} and the people here for the refusals.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AnvilNode } from "@shandu/adapter-evm/testing";
import { deployContract } from "@shandu/adapter-evm/testing";
import {
  ALLIANCE_ROLE,
  committeeInput,
  type Deed,
  deedAttestation,
  encodeAllianceGovernance,
  evmDeed,
  markSettledArgs,
} from "@shandu/deploy";
import {
  type AllianceAgreement,
  AUTHORISE_ENVELOPE_OFFSET,
  auditManifestToJson,
  type Bls,
  bundleFromJson,
  bundleToJson,
  bytesEqual,
  type Committee,
  type ConfirmedRedemption,
  committeeSetHash,
  decodeRedemptionPayload,
  ENVELOPE_SCHEME,
  type Envelope,
  envelopeCommitment,
  envelopeContext,
  envelopeToJson,
  generateSupervisorKeyPair,
  keyGen,
  reasonCode,
  recomputeSettlement,
  type SettlementBatch,
  type SettlementWindow,
  sealEnvelope,
  settlementBatchToJson,
  supervisorKeyToJson,
  toHex,
} from "@shandu/proofs";
import { type Contract, getBytes, getCreateAddress, keccak256, NonceManager, toUtf8Bytes, Wallet } from "ethers";
import type { Output } from "../command.ts";
import type { DevnetChain } from "./alliance.ts";
import type { RunningDevnet } from "./run.ts";

/** A left-aligned ASCII `bytes32`, as Solidity's `bytes32("…")`. */
export function b32(text: string): string {
  return toHex(reasonCode(text));
}

export const CREDIT_CLASS = "LOW_CARBON";
export const AGREEMENT: AllianceAgreement = {
  id: "sh-sz-2026",
  currency: "CNY",
  // One credit is worth 0.10 CNY (10 fen) to the merchant who honours it.
  rates: [{ creditClass: CREDIT_CLASS, numerator: 10n, denominator: 1n }],
};
/** Seconds after a deadline before chain A refunds without an answer. */
export const REFUND_MARGIN = 600n;

/** The people of the pilot; each has an account on the chain it acts on (the regulator and bank on both). */
export const PEOPLE = {
  regulator: "regulator",
  transit: "transit-platform",
  bureau: "environmental-bureau",
  fund: "green-travel-fund",
  citizen: "citizen",
  bank: "clearing-bank",
  bookshop: "shenzhen-bookshop",
  cafe: "shenzhen-cafe",
} as const;
export type Person = keyof typeof PEOPLE;

/** The app contracts of one chain. */
export interface AppChain {
  chain: DevnetChain;
  alliance: Contract;
  registry: Contract;
  credits: Contract;
  redemption: Contract;
  settlement: Contract;
}

export interface Application {
  a: AppChain;
  b: AppChain;
  /** A wallet per person and chain (deterministic from the name, funded on the devnet). */
  wallet(person: Person, on: AppChain): Wallet;
  measurers: { committee: Committee; secretKeys: Uint8Array[] };
}

function personKey(person: Person): string {
  return keccak256(toUtf8Bytes(`shandu devnet person ${PEOPLE[person]}`));
}

async function fund(node: AnvilNode, address: string): Promise<void> {
  await node.provider.send("anvil_setBalance", [address, "0x3635c9adc5dea00000"]);
}

/** The deployer: account 0 of every devnet chain (it deployed the Shandu contracts). */
const DEPLOYER = 0;

/**
 * Deploys the 善度 application on both devnet chains: alliance registry, deed registry, credits,
 * redemption and settlement contracts, each chain's registry obeying the regulator's account on the
 * other chain. Addresses are predicted so the contracts can name each other without an owner.
 */
export async function deployApplication(devnet: RunningDevnet, bls: Bls): Promise<Application> {
  const [ca, cb] = devnet.alliance.chains;
  const wallets = new Map<string, Wallet>();
  const wallet = (person: Person, on: AppChain | DevnetChain): Wallet => {
    const chain = "chain" in on ? on.chain : on;
    const k = `${person}@${chain.chainId}`;
    const known = wallets.get(k);
    if (known) return known;
    const w = new Wallet(personKey(person), chain.node.provider);
    wallets.set(k, w);
    return w;
  };
  for (const c of [ca, cb]) for (const p of Object.keys(PEOPLE) as Person[]) await fund(c.node, wallet(p, c).address);

  // Same deployer, same sequence on both chains: predict the five addresses from its next nonce.
  const plan = async (c: DevnetChain) => {
    const deployer = c.node.wallet(DEPLOYER);
    const nonce = await c.node.provider.getTransactionCount(deployer.address);
    const at = (i: number) => getCreateAddress({ from: deployer.address, nonce: nonce + i });
    return { deployer, alliance: at(0), registry: at(1), credits: at(2), redemption: at(3), settlement: at(4) };
  };
  const [pa, pb] = [await plan(ca), await plan(cb)];
  const deployOn = async (c: DevnetChain, p: typeof pa, peer: DevnetChain, q: typeof pb): Promise<AppChain> => {
    const inbox = await c.inbox.getAddress();
    const outbox = await c.outbox.getAddress();
    const regulatorOnPeer = wallet("regulator", peer).address;
    const alliance = await deployContract(p.deployer, "ShanduAlliance", [
      c.chainId,
      inbox,
      [{ chainId: peer.chainId, sender: regulatorOnPeer }],
    ]);
    const registry = await deployContract(p.deployer, "GoodDeedRegistry", [p.alliance, p.credits]);
    const credits = await deployContract(p.deployer, "GoodDeedCredits", [p.alliance, p.registry, p.redemption]);
    const redemption = await deployContract(p.deployer, "ShanduRedemption", [
      c.chainId,
      outbox,
      inbox,
      p.credits,
      p.alliance,
      [{ chainId: peer.chainId, redemption: q.redemption }],
      REFUND_MARGIN,
    ]);
    const settlement = await deployContract(p.deployer, "ShanduSettlement", [
      p.alliance,
      outbox,
      inbox,
      [{ chainId: peer.chainId, settlementContract: q.settlement }],
    ]);
    for (const [name, want, got] of [
      ["ShanduAlliance", p.alliance, alliance],
      ["GoodDeedRegistry", p.registry, registry],
      ["GoodDeedCredits", p.credits, credits],
      ["ShanduRedemption", p.redemption, redemption],
      ["ShanduSettlement", p.settlement, settlement],
    ] as const) {
      if ((await got.getAddress()) !== want) throw new Error(`${name} on ${c.name} is not at its predicted address`);
    }
    return { chain: c, alliance, registry, credits, redemption, settlement };
  };
  const a = await deployOn(ca, pa, cb, pb);
  const b = await deployOn(cb, pb, ca, pa);

  const names = ["city-transit-meter", "carbon-lab", "citizen-panel"];
  const secretKeys = names.map((n) => keyGen(getBytes(keccak256(toUtf8Bytes(`shandu devnet measurer ${n}`)))));
  const committee: Committee = {
    epoch: 0n,
    members: names.map((id, i) => ({
      id,
      group: id,
      weight: 1,
      blsPublicKey: bls.publicKeyOf(secretKeys[i]!),
      proofOfPossession: bls.provePossession(secretKeys[i]!),
      nativeKeys: [],
    })),
    policy: { threshold: { numerator: 2, denominator: 3 }, groups: [] },
  };
  return { a, b, wallet: (p, on) => wallet(p, on), measurers: { committee, secretKeys } };
}

/** Polls `f` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | null | undefined | false>,
  signal?: AbortSignal,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (signal?.aborted) throw new Error(`interrupted while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sends governance messages from the regulator's account on `from` to `to`'s alliance registry and waits until they ran. */
export async function govern(
  app: Application,
  from: AppChain,
  to: AppChain,
  payloads: Uint8Array[],
  signal?: AbortSignal,
): Promise<bigint[]> {
  const reg = new NonceManager(app.wallet("regulator", from));
  const outbox = from.chain.outbox.connect(reg) as Contract;
  const target = await to.alliance.getAddress();
  const first = BigInt(await from.chain.outbox.getFunction("nextNonce")(to.chain.chainId));
  const txs = [];
  for (const p of payloads) txs.push(await outbox.getFunction("send")(to.chain.chainId, target, p));
  for (const t of txs) await t.wait();
  const nonces = payloads.map((_, i) => first + BigInt(i));
  const last = nonces.at(-1)!;
  await waitFor(
    `governance message ${last} from ${from.chain.name} to run on ${to.chain.name}`,
    async () => (await to.chain.inbox.getFunction("isDelivered")(from.chain.chainId, last)) as boolean,
    signal,
  );
  return nonces;
}

export interface ScenarioRedemption {
  label: string;
  id: string;
  amount: bigint;
  platform: Person;
  outcome: "confirm" | "reject" | "timeout";
  envelope: Envelope;
}

export interface ScenarioResult {
  dir: string;
  bundlesDir: string;
  manifestPath: string;
  supervisorKeyPath: string;
  envelopesDir: string;
  batch: SettlementBatch;
  window: SettlementWindow;
  redemptions: ScenarioRedemption[];
  /** Bundle file of each redemption's AUTHORISE message, by label. */
  authoriseBundles: Map<string, string>;
  bundles: number;
  balances: { issued: bigint; balance: bigint; burned: bigint; locked: bigint };
  /** Gas used by the application's own transactions, by `Contract.function`, in the order sent. */
  gas: Map<string, bigint[]>;
}

const TRIPS = [
  { metres: 12_400n, route: "Line 2, Lujiazui → Jing'an Temple, then 3.1 km by shared bike" },
  { metres: 8_000n, route: "Bus 71, Yan'an Road East → Zhongshan Park" },
  { metres: 25_000n, route: "Line 10 and Line 13, Hongqiao → Xujiahui → Changshou Road" },
];

/** Runs the low-carbon pilot on a running devnet with the application deployed; writes everything under `dir`. */
export async function runLowCarbonScenario(
  devnet: RunningDevnet,
  app: Application,
  bls: Bls,
  o: { dir: string; out: Output; signal?: AbortSignal },
): Promise<ScenarioResult> {
  const say = (s: string) => o.out.write(`${s}\n`);
  const { a, b } = app;
  const addr = (p: Person, on: AppChain) => app.wallet(p, on).address;
  const gas = new Map<string, bigint[]>();
  const contractNames = new Map<string, string>();
  for (const c of [a, b]) {
    for (const [name, contract] of [
      ["GoodDeedRegistry", c.registry],
      ["ShanduRedemption", c.redemption],
      ["ShanduSettlement", c.settlement],
    ] as const) {
      contractNames.set((await contract.getAddress()).toLowerCase(), name);
    }
  }
  const send = async (c: Contract, who: Wallet, fn: string, args: unknown[]) => {
    const tx = await (c.connect(who) as Contract).getFunction(fn)(...args);
    const receipt = await tx.wait();
    const key = `${contractNames.get((await c.getAddress()).toLowerCase()) ?? "contract"}.${fn}`;
    gas.set(key, [...(gas.get(key) ?? []), receipt.gasUsed as bigint]);
    return receipt;
  };
  const dir = o.dir;
  const bundlesDir = join(dir, "bundles");
  const envelopesDir = join(dir, "envelopes");
  await mkdir(bundlesDir, { recursive: true });
  await mkdir(envelopesDir, { recursive: true });
  const supervisor = generateSupervisorKeyPair();
  const supervisorKeyPath = join(dir, "supervisor.key");
  await writeFile(supervisorKeyPath, `${JSON.stringify(supervisorKeyToJson(supervisor.secretKey), null, 2)}\n`, { mode: 0o600 });
  const windowFrom = BigInt((await b.chain.node.provider.getBlock("latest"))!.timestamp);

  // 1. Governance.
  say("1. The regulator registers the institutions by attested governance messages…");
  const grant = (role: keyof typeof ALLIANCE_ROLE, on: AppChain, person: Person) =>
    encodeAllianceGovernance({
      op: "grant",
      role: ALLIANCE_ROLE[role],
      roleChainId: on.chain.chainId,
      account: hexBytes(addr(person, on)),
    });
  const measurerHash = committeeSetHash(app.measurers.committee);
  const classBytes = hexBytes(b32(CREDIT_CLASS));
  await govern(
    app,
    b,
    a,
    [
      grant("distributor", a, "transit"),
      grant("issuer", a, "bureau"),
      grant("sponsor", a, "fund"),
      grant("clearing", a, "bank"),
      grant("platform", b, "bookshop"),
      grant("platform", b, "cafe"),
      encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: measurerHash }),
      encodeAllianceGovernance({ op: "setClassSponsor", creditClass: classBytes, sponsor: hexBytes(addr("fund", a)) }),
      encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: b.chain.chainId, capacity: 500n, refillPerSecond: 1n }),
    ],
    o.signal,
  );
  await govern(app, a, b, [grant("platform", b, "bookshop"), grant("platform", b, "cafe"), grant("clearing", b, "bank")], o.signal);
  const roleOk = await a.alliance.getFunction("hasRole")(ALLIANCE_ROLE.platform, b.chain.chainId, addr("cafe", b));
  if (!roleOk) throw new Error("the governance messages were delivered but did not take effect on chain A");
  say(
    `   ${PEOPLE.transit} (distributor), ${PEOPLE.bureau} (issuer), ${PEOPLE.fund} (sponsor of ${CREDIT_CLASS}), ${PEOPLE.bank} (clearing),`,
  );
  say(`   ${PEOPLE.bookshop} and ${PEOPLE.cafe} (exchange platforms in Shenzhen); lane limit 500 credits, refilled 1/s`);

  // 2. Measurers and deeds.
  say("2. The measuring institutions co-sign three trips; the transit platform records them…");
  await send(a.registry, app.wallet("transit", a), "registerMeasurers", [committeeInput(app.measurers.committee)]);
  await send(a.registry, app.wallet("bureau", a), "setRule", [b32("LOW_CARBON_TRIP"), b32("m"), classBytes, 1n, 100n]);
  const deedIds: string[] = [];
  for (const [i, trip] of TRIPS.entries()) {
    const deedId = keccak256(toUtf8Bytes(`devnet trip ${i}`));
    const envelope = await sealEnvelope({
      supervisorPublicKey: supervisor.publicKey,
      plaintext: toUtf8Bytes(JSON.stringify({ citizen: "Li Hua, ID 3101********1234", route: trip.route, metres: trip.metres.toString() })),
      context: envelopeContext(a.chain.chainId, deedId),
    });
    await saveEnvelope(envelopesDir, envelope);
    const deed: Deed = {
      deedId: hexBytes(deedId),
      user: hexBytes(addr("citizen", a)),
      category: hexBytes(b32("LOW_CARBON_TRIP")),
      quantity: trip.metres,
      unit: hexBytes(b32("m")),
      measuredBy: hexBytes(b32("city-transit-meter")),
      measuredAt: BigInt(Math.floor(Date.now() / 1000)),
      consentRef: hexBytes(keccak256(toUtf8Bytes(`consent ${i}`))),
      envelopeCommitment: envelopeCommitment(envelope),
    };
    const attestation = deedAttestation(bls, app.measurers.committee, app.measurers.secretKeys, [0, 1], {
      chainId: a.chain.chainId,
      registry: hexBytes(await a.registry.getAddress()),
      deed,
    });
    await send(a.registry, app.wallet("transit", a), "recordDeed", [evmDeed(deed), attestation]);
    await send(a.registry, app.wallet("transit", a), "issueCredits", [deedId]);
    deedIds.push(deedId);
  }
  const issued = (await a.credits.getFunction("balanceOf")(addr("citizen", a), classBytes)) as bigint;
  say(`   ${TRIPS.length} trips recorded (2 of 3 measurers each), ${issued} ${CREDIT_CLASS} credits issued to the citizen`);

  // 3. Redemptions.
  say("3. The citizen redeems at two merchants in Shenzhen…");
  const bNow = BigInt((await b.chain.node.provider.getBlock("latest"))!.timestamp);
  const deadline = bNow + 3600n;
  const plans: Omit<ScenarioRedemption, "id" | "envelope">[] = [
    { label: "R1", amount: 100n, platform: "bookshop", outcome: "confirm" },
    { label: "R2", amount: 50n, platform: "cafe", outcome: "reject" },
    { label: "R3", amount: 30n, platform: "cafe", outcome: "timeout" },
    { label: "R4", amount: 80n, platform: "cafe", outcome: "confirm" },
  ];
  const redemptions: ScenarioRedemption[] = [];
  const citizen = app.wallet("citizen", a);
  for (const p of plans) {
    const userNonce = (await a.redemption.getFunction("nextUserNonce")(citizen.address)) as bigint;
    const id = (await a.redemption.getFunction("redemptionId")(citizen.address, userNonce)) as string;
    const envelope = await sealEnvelope({
      supervisorPublicKey: supervisor.publicKey,
      plaintext: toUtf8Bytes(JSON.stringify({ citizen: "Li Hua, ID 3101********1234", merchant: PEOPLE[p.platform], redemption: p.label })),
      context: envelopeContext(a.chain.chainId, id),
    });
    await saveEnvelope(envelopesDir, envelope);
    await send(a.redemption, citizen, "requestRedemption", [
      b.chain.chainId,
      addr(p.platform, b),
      classBytes,
      p.amount,
      deadline,
      toHex(envelopeCommitment(envelope)),
    ]);
    redemptions.push({ ...p, id, envelope });
  }
  const state = (c: AppChain, id: string) => c.redemption.getFunction("state")(id) as Promise<bigint>;
  for (const r of redemptions)
    await waitFor(`${r.label} to be authorised on ${b.chain.name}`, async () => (await state(b, r.id)) === 4n, o.signal);
  say(
    `   4 redemptions locked on ${a.chain.name} and authorised on ${b.chain.name} (${redemptions.map((r) => `${r.label} ${r.amount}`).join(", ")})`,
  );
  for (const r of redemptions) {
    if (r.outcome === "confirm") await send(b.redemption, app.wallet(r.platform, b), "confirm", [r.id]);
    if (r.outcome === "reject") await send(b.redemption, app.wallet(r.platform, b), "reject", [r.id]);
  }
  for (const r of redemptions) {
    if (r.outcome === "timeout") continue;
    const want = r.outcome === "confirm" ? 2n : 3n;
    await waitFor(`${r.label}'s answer to arrive on ${a.chain.name}`, async () => (await state(a, r.id)) === want, o.signal);
  }
  say("   R1 and R4 confirmed (credits burned on A), R2 rejected by the cafe (refunded)");
  const late = redemptions.find((r) => r.outcome === "timeout")!;
  const jump = Number(deadline - BigInt((await a.chain.node.provider.getBlock("latest"))!.timestamp) + REFUND_MARGIN + 5n);
  await a.chain.node.provider.send("evm_increaseTime", [jump]);
  await a.chain.node.provider.send("evm_mine", []);
  await send(a.redemption, app.wallet("bureau", a), "refundAfterTimeout", [late.id]);
  await waitFor(`${late.label}'s expiry to reach ${b.chain.name}`, async () => (await state(b, late.id)) === 7n, o.signal);
  say(
    `   R3 never answered: after the deadline and a ${REFUND_MARGIN} s margin (chain A's clock moved on by ${jump} s) it is refunded; B marks it expired`,
  );

  // 4. Settlement.
  say("4. The clearing bank settles the window…");
  const windowTo = BigInt((await b.chain.node.provider.getBlock("latest"))!.timestamp) + 1n;
  const window: SettlementWindow = { allianceAgreementId: AGREEMENT.id, windowId: 1n, from: windowFrom, to: windowTo };
  const confirmations = await confirmationsOn(b, app, window);
  const batch = recomputeSettlement(window, confirmations, AGREEMENT);
  const batchPath = join(dir, "settlement-window-1.json");
  await writeFile(batchPath, `${JSON.stringify(settlementBatchToJson(batch), null, 2)}\n`);
  await send(a.settlement, app.wallet("bank", a), "publish", [window.windowId, toHex(batch.settlementRoot), batch.header.lineCount]);
  await waitFor(
    `the settlement root to reach ${b.chain.name}`,
    async () => {
      const root = (await b.settlement.getFunction("rootOf")(window.windowId)) as string;
      return root === toHex(batch.settlementRoot);
    },
    o.signal,
  );
  for (const line of batch.lines) {
    const args = markSettledArgs(batch, line.index, hexBytes(b32(`CNAPS-2026-${String(line.index + 1).padStart(4, "0")}`)));
    for (const c of [a, b]) await send(c.settlement, app.wallet("bank", c), "markSettled", args);
  }
  for (const l of batch.lines)
    say(`   line ${l.index}: ${l.payer} pays ${l.payee} ${formatFen(l.amount)} CNY — marked settled on both chains`);

  // 5. Bundles.
  say("5. Collecting the proof bundles…");
  const authoriseBundles = new Map<string, string>();
  let bundles = 0;
  for (const [src, dst] of [
    [a, b],
    [b, a],
  ] as const) {
    const count = BigInt(await src.chain.outbox.getFunction("nextNonce")(dst.chain.chainId));
    await waitFor(
      `every message from ${src.chain.name} to be delivered`,
      async () => (count === 0n ? true : ((await dst.chain.inbox.getFunction("isDelivered")(src.chain.chainId, count - 1n)) as boolean)),
      o.signal,
    );
    for (let n = 0n; n < count; n++) {
      const json = await waitFor(
        `the bundle of message ${n} on ${src.chain.name} → ${dst.chain.name}`,
        async () =>
          devnet.gateway.service
            .getProofBundle({ sourceChainId: src.chain.chainId, destinationChainId: dst.chain.chainId, nonce: n })
            .catch(() => null),
        o.signal,
      );
      const bundle = bundleFromJson(json);
      let label = "message";
      try {
        const p = decodeRedemptionPayload(bundle.message.payload);
        label = p.op;
        if (p.op === "authorise") {
          bundle.regulatorEnvelope = {
            commitment: p.envelopeCommitment,
            payloadOffset: AUTHORISE_ENVELOPE_OFFSET,
            scheme: ENVELOPE_SCHEME,
          };
        }
      } catch {
        // Not a redemption payload: a governance message to a registry, or a settlement root.
        label = bytesEqual(bundle.message.recipient, hexBytes(await dst.settlement.getAddress())) ? "settlement" : "governance";
      }
      const name = `${src.chain.name}-to-${dst.chain.name}-${String(n).padStart(4, "0")}-${label}.json`;
      await writeFile(join(bundlesDir, name), `${JSON.stringify(bundleToJson(bundle), null, 2)}\n`);
      if (label === "authorise") {
        const p = decodeRedemptionPayload(bundle.message.payload);
        const r = redemptions.find((x) => x.id === toHex(p.id));
        if (r) authoriseBundles.set(r.label, join(bundlesDir, name));
      }
      bundles++;
    }
  }

  // 6. The audit manifest.
  const institutions = (
    [
      ["fund", a],
      ["bookshop", b],
      ["cafe", b],
    ] as const
  ).map(([p, c]) => ({ id: PEOPLE[p], chainId: c.chain.chainId, account: hexBytes(addr(p, c)) }));
  const manifest = auditManifestToJson({
    chains: await Promise.all(
      [a, b].map(async (c) => ({
        chainId: c.chain.chainId,
        name: c.chain.name,
        redemption: hexBytes(await c.redemption.getAddress()),
        settlement: hexBytes(await c.settlement.getAddress()),
      })),
    ),
    institutions,
    creditClasses: [{ creditClass: classBytes, name: CREDIT_CLASS, sponsor: PEOPLE.fund }],
    agreement: AGREEMENT,
    windows: [{ window, batch: "settlement-window-1.json" }],
  });
  const manifestPath = join(dir, "audit.json");
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  const balance = (fn: string) => a.credits.getFunction(fn)(citizen.address, classBytes) as Promise<bigint>;
  return {
    dir,
    bundlesDir,
    manifestPath,
    supervisorKeyPath,
    envelopesDir,
    batch,
    window,
    redemptions,
    authoriseBundles,
    bundles,
    gas,
    balances: {
      issued: await balance("issuedTo"),
      balance: await balance("balanceOf"),
      burned: await balance("burnedOf"),
      locked: await balance("lockedOf"),
    },
  };
}

/** The confirmations the bank reads from chain B's `RedemptionConfirmed` events in the window (B's block time). */
async function confirmationsOn(b: AppChain, app: Application, window: SettlementWindow): Promise<ConfirmedRedemption[]> {
  const events = await b.redemption.queryFilter(b.redemption.filters.RedemptionConfirmed!(), 0, "latest");
  const out: ConfirmedRedemption[] = [];
  const platforms = new Map((["bookshop", "cafe"] as const).map((p) => [app.wallet(p, b).address.toLowerCase(), PEOPLE[p]]));
  for (const e of events) {
    const id = (e as unknown as { args: [string] }).args[0];
    const r = (await b.redemption.getFunction("redemption")(id)) as { platform: string; amount: bigint; creditClass: string };
    const block = await e.getBlock();
    const confirmedAt = BigInt(block.timestamp);
    if (confirmedAt < window.from || confirmedAt >= window.to) continue;
    out.push({
      redemptionId: hexBytes(id),
      sponsor: PEOPLE.fund,
      exchangePlatform: platforms.get(r.platform.toLowerCase()) ?? r.platform,
      credits: r.amount,
      creditClass: CREDIT_CLASS,
      confirmedAt,
    });
  }
  return out;
}

async function saveEnvelope(dir: string, envelope: Envelope): Promise<void> {
  const commitment = toHex(envelopeCommitment(envelope)).slice(2);
  await writeFile(join(dir, `${commitment}.json`), `${JSON.stringify(envelopeToJson(envelope), null, 2)}\n`);
}

/** Bytes of a `0x` hex string (addresses, ids). */
export function hexBytes(h: string): Uint8Array {
  return getBytes(h);
}

export function formatFen(fen: bigint): string {
  return `${fen / 100n}.${String(fen % 100n).padStart(2, "0")}`;
}
