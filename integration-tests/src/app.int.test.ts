/**
 * The 善度 application end to end on real parts: two anvil chains, the real gateway, four attesters, a
 * relayer and NATS (as `shandu devnet` assembles them), the application contracts on both chains, and
 * the low-carbon scenario played through them. Then: every bad input of the application refused with
 * its code and nothing changed; `shandu audit` (the real CLI process) passing on the scenario's bundles
 * and failing on tampered copies at the tampered step; `shandu regulator open` opening one envelope.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { evmAdapterModule } from "@shandu/adapter-evm";
import {
  type AppChain,
  type Application,
  b32,
  CREDIT_CLASS,
  deployApplication,
  govern,
  hexBytes,
  type RunningDevnet,
  runLowCarbonScenario,
  type ScenarioResult,
  startDevnet,
  waitFor,
} from "@shandu/cli/devnet";
import {
  ALLIANCE_ROLE,
  type Deed,
  decodeRejection,
  deedAttestation,
  encodeAllianceGovernance,
  evmDeed,
  markSettledArgs,
} from "@shandu/deploy";
import { type Bls, loadBls, toHex } from "@shandu/proofs";
import { type Contract, keccak256, toUtf8Bytes, type Wallet } from "ethers";

const shandu = join(dirname(fileURLToPath(import.meta.url)), "../../cli/bin/shandu.js");
const quiet = { write: () => {}, isTTY: false };

function cli(...args: string[]) {
  return spawnSync(process.execPath, [shandu, ...args], { encoding: "utf8" });
}

/** The `ShanduRejected` code of a refused call. */
function codeOf(err: unknown): string {
  const e = err as { data?: string; info?: { error?: { data?: string } } };
  const data = e.data ?? e.info?.error?.data;
  if (typeof data !== "string") return `(no revert data: ${(err as Error).message})`;
  return decodeRejection(data)?.code ?? `(unknown revert ${data})`;
}

async function refused(c: Contract, who: Wallet, fn: string, args: unknown[], code: string): Promise<void> {
  await assert.rejects((c.connect(who) as Contract).getFunction(fn)(...args), (err: unknown) => {
    assert.equal(codeOf(err), code, `${fn} should be refused with ${code}`);
    return true;
  });
}

describe("the 善度 application across two chains, through the gateway and relayer", { timeout: 600_000 }, () => {
  let bls: Bls;
  let dir: string;
  let devnet: RunningDevnet;
  let app: Application;
  let result: ScenarioResult;
  let a: AppChain;
  let b: AppChain;
  const genesis = () => join(dir, "genesis.json");

  before(async () => {
    bls = await loadBls();
    dir = await mkdtemp(join(tmpdir(), "shandu-app-"));
    devnet = await startDevnet({
      dir,
      bls,
      modules: { evm: evmAdapterModule },
      messagesPerLane: 0,
      ratePerSecond: 0,
      signal: new AbortController().signal,
      out: quiet,
    });
    app = await deployApplication(devnet, bls);
    ({ a, b } = app);
    result = await runLowCarbonScenario(devnet, app, bls, { dir: join(dir, "scenario"), out: quiet });
  });

  after(async () => {
    await devnet?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the scenario: credits issued from attested deeds, four redemptions ending as they should, the window settled", async () => {
    const classBytes = b32(CREDIT_CLASS);
    const citizen = app.wallet("citizen", a).address;
    // 12,400 m + 8,000 m + 25,000 m at one credit per 100 m.
    assert.equal(result.balances.issued, 124n + 80n + 250n);
    assert.equal(result.balances.burned, 100n + 80n, "R1 and R4 burned");
    assert.equal(result.balances.locked, 0n);
    assert.equal(result.balances.balance, 454n - 180n, "R2 and R3 refunded");
    assert.equal(await a.credits.getFunction("issuedBySponsor")(app.wallet("fund", a).address, classBytes), 454n);
    const states = async (c: AppChain) =>
      Promise.all(result.redemptions.map(async (r) => Number(await c.redemption.getFunction("state")(r.id))));
    // A: burned 2, refunded 3; B: confirmed 5, rejected 6, expired 7.
    assert.deepEqual(await states(a), [2, 3, 3, 2]);
    assert.deepEqual(await states(b), [5, 6, 7, 5]);
    const late = (await a.redemption.getFunction("redemption")(result.redemptions[2]!.id)) as { refundedByTimeout: boolean };
    assert.equal(late.refundedByTimeout, true);
    assert.equal(await a.credits.getFunction("balanceOf")(citizen, classBytes), result.balances.balance);

    // The green travel fund owes the bookshop 100 credits × 10 fen and the cafe 80 × 10 fen.
    assert.deepEqual(
      result.batch.lines.map((l) => [l.payer, l.payee, l.amount]),
      [
        ["green-travel-fund", "shenzhen-bookshop", 1000n],
        ["green-travel-fund", "shenzhen-cafe", 800n],
      ],
    );
    for (const c of [a, b]) {
      assert.equal(await c.settlement.getFunction("rootOf")(1n), toHex(result.batch.settlementRoot));
      for (const l of result.batch.lines) assert.equal(await c.settlement.getFunction("isSettled")(1n, l.index), true);
    }
  });

  test("shandu verify --strict passes on every bundle the scenario left", () => {
    const r = cli("verify", result.bundlesDir, "--genesis", genesis(), "--strict");
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("shandu audit proves every step of every redemption and the settlement", () => {
    const r = cli("audit", result.bundlesDir, "--manifest", result.manifestPath, "--genesis", genesis(), "--json");
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      redemptions: { id: string; outcome: string; steps: { step: string; status: string }[] }[];
      settlements: { status: string; confirmations: number; deliveredTo: string[] }[];
    };
    assert.equal(report.ok, true);
    const outcome = (label: string) =>
      report.redemptions.find((x) => x.id === result.redemptions.find((r) => r.label === label)!.id)?.outcome;
    assert.equal(outcome("R1"), "burned");
    assert.equal(outcome("R2"), "refunded-rejected");
    assert.equal(outcome("R3"), "refunded-timeout");
    assert.equal(outcome("R4"), "burned");
    for (const x of report.redemptions) assert.ok(x.steps.every((s) => s.status === "proven"));
    assert.deepEqual(
      report.redemptions.find((x) => x.outcome === "burned")!.steps.map((s) => s.step),
      ["lock", "authorisation", "answer", "finalisation"],
    );
    assert.equal(report.settlements[0]!.status, "proven");
    assert.equal(report.settlements[0]!.confirmations, 2);
    assert.deepEqual(report.settlements[0]!.deliveredTo, ["shenzhen-welfare"]);
  });

  test("shandu audit fails a tampered copy at the tampered step", async () => {
    const copy = join(dir, "tampered");
    await cp(result.dir, copy, { recursive: true });
    const bundles = join(copy, "bundles");
    const manifest = join(copy, "audit.json");
    const audit = () => {
      const r = cli("audit", bundles, "--manifest", manifest, "--genesis", genesis(), "--json");
      assert.equal(r.status, 1, r.stdout + r.stderr);
      return JSON.parse(r.stdout) as {
        ok: boolean;
        redemptions: { id: string; outcome: string; steps: { step: string; status: string; code?: string }[] }[];
        settlements: { status: string; code?: string; detail: string }[];
      };
    };
    const edit = async (path: string, f: (j: Record<string, unknown>) => void) => {
      const j = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
      f(j);
      await writeFile(path, JSON.stringify(j, null, 2));
    };
    const r4 = result.redemptions.find((r) => r.label === "R4")!;
    const confirmOf = async (id: string) => {
      const { readdir } = await import("node:fs/promises");
      for (const name of (await readdir(bundles)).filter((n) => n.endsWith("-confirm.json"))) {
        const j = JSON.parse(await readFile(join(bundles, name), "utf8")) as { message: { payload: string } };
        if (j.message.payload.includes(id.slice(2))) return join(bundles, name);
      }
      throw new Error(`no confirm bundle for ${id}`);
    };

    // 1. R4's burn on chain A: one byte of the delivery receipt changed.
    const confirmPath = await confirmOf(r4.id);
    const original = await readFile(confirmPath, "utf8");
    await edit(confirmPath, (j) => {
      const ev = j.destinationEvidence as { receipt: string };
      const last = ev.receipt.slice(-2) === "00" ? "01" : "00";
      ev.receipt = ev.receipt.slice(0, -2) + last;
    });
    let report = audit();
    const x = report.redemptions.find((r) => r.id === r4.id)!;
    assert.equal(x.outcome, "failed");
    assert.deepEqual(
      x.steps.filter((s) => s.status !== "proven").map((s) => s.step),
      ["answer", "finalisation"],
      "the confirmation's bundle no longer verifies, so its answer and burn are unproven",
    );
    assert.ok(
      report.redemptions.filter((r) => r.id !== r4.id).every((r) => r.outcome !== "failed"),
      "the other redemptions still pass",
    );
    await writeFile(confirmPath, original);

    // 2. The settlement batch: a line's amount changed (the totals of the header left as they were).
    const batchPath = join(copy, "settlement-window-1.json");
    const batchText = await readFile(batchPath, "utf8");
    await edit(batchPath, (j) => {
      const lines = j.lines as { amount: string }[];
      lines[0]!.amount = (BigInt(lines[0]!.amount) + 1n).toString();
    });
    report = audit();
    assert.equal(report.settlements[0]!.status, "failed");
    assert.equal(report.settlements[0]!.code, "SETTLEMENT_MISMATCH");
    assert.match(report.settlements[0]!.detail, /line 0/);
    assert.ok(report.redemptions.every((r) => r.outcome !== "failed"));
    await writeFile(batchPath, batchText);

    // 3. R1's request with a larger amount: its lock is no longer proven.
    const r1Authorise = result.authoriseBundles.get("R1")!.replace(result.dir, copy);
    await edit(r1Authorise, (j) => {
      const m = j.message as { payload: string };
      // The amount's last byte (payload offset 137): the message no longer hashes to the attested leaf.
      const at = 2 + 137 * 2;
      m.payload = m.payload.slice(0, at) + (m.payload.slice(at, at + 2) === "00" ? "01" : "00") + m.payload.slice(at + 2);
    });
    report = audit();
    const r1 = report.redemptions.find((r) => r.id === result.redemptions[0]!.id)!;
    assert.equal(r1.outcome, "failed");
    assert.equal(r1.steps[0]!.step, "lock");
    assert.equal(r1.steps[0]!.status, "failed");
  });

  test("the regulator opens the envelope of a redemption; a wrong key cannot", async () => {
    const bundle = result.authoriseBundles.get("R1")!;
    const out = join(dir, "opened.json");
    const r = cli(
      "regulator",
      "open",
      bundle,
      "--key",
      result.supervisorKeyPath,
      "--envelopes",
      result.envelopesDir,
      "--genesis",
      genesis(),
      "--out",
      out,
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const opened = JSON.parse(await readFile(out, "utf8")) as { merchant: string; redemption: string };
    assert.equal(opened.merchant, "shenzhen-bookshop");
    assert.equal(opened.redemption, "R1");
    const otherKey = join(dir, "other-supervisor", "supervisor.key");
    assert.equal(cli("regulator", "keygen", "--out", join(dir, "other-supervisor")).status, 0);
    const wrong = cli("regulator", "open", bundle, "--key", otherKey, "--envelopes", result.envelopesDir, "--genesis", genesis());
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
  });

  test("bad input is refused with its code and changes nothing", async () => {
    const classBytes = b32(CREDIT_CLASS);
    const citizen = app.wallet("citizen", a);
    const snapshot = async () => ({
      balance: (await a.credits.getFunction("balanceOf")(citizen.address, classBytes)) as bigint,
      locked: (await a.credits.getFunction("lockedOf")(citizen.address, classBytes)) as bigint,
      userNonce: (await a.redemption.getFunction("nextUserNonce")(citizen.address)) as bigint,
      outbox: (await a.chain.outbox.getFunction("nextNonce")(b.chain.chainId)) as bigint,
    });
    const before = await snapshot();
    const registry = hexBytes(await a.registry.getAddress());
    const deed = (i: number): Deed => ({
      deedId: hexBytes(keccak256(toUtf8Bytes(`bad input deed ${i}`))),
      user: hexBytes(citizen.address),
      category: hexBytes(b32("LOW_CARBON_TRIP")),
      quantity: 5_000n,
      unit: hexBytes(b32("m")),
      measuredBy: hexBytes(b32("carbon-lab")),
      measuredAt: 1n,
      consentRef: hexBytes(keccak256(toUtf8Bytes("consent"))),
      envelopeCommitment: new Uint8Array(32),
    });
    const tuple = evmDeed;
    const { committee, secretKeys } = app.measurers;
    const attest = (d: Deed, signers: number[], keys = secretKeys) =>
      deedAttestation(bls, committee, keys, signers, { chainId: a.chain.chainId, registry, deed: d });
    const transit = app.wallet("transit", a);

    // An unregistered institution submits a deed (with a genuine quorum).
    await refused(a.registry, app.wallet("cafe", a), "recordDeed", [tuple(deed(1)), attest(deed(1), [0, 1])], "NOT_DISTRIBUTOR");
    // A deed with one measurer of three.
    await refused(a.registry, transit, "recordDeed", [tuple(deed(2)), attest(deed(2), [0])], "QUORUM_WEIGHT_NOT_MET");
    // A measurer's signature forged with another key.
    const forged = [secretKeys[0]!, secretKeys[2]!, secretKeys[2]!];
    await refused(a.registry, transit, "recordDeed", [tuple(deed(3)), attest(deed(3), [0, 1], forged)], "BAD_SIGNATURE");
    // The attestation of one deed under another deed's fields.
    await refused(a.registry, transit, "recordDeed", [tuple({ ...deed(4), quantity: 50_000n }), attest(deed(4), [0, 1])], "BAD_SIGNATURE");
    // A duplicate deed id: a deed the scenario recorded, signed again by a quorum.
    const first = deed(5);
    await (await (a.registry.connect(transit) as Contract).getFunction("recordDeed")(tuple(first), attest(first, [1, 2]))).wait();
    await refused(a.registry, transit, "recordDeed", [tuple(first), attest(first, [0, 2])], "DUPLICATE_DEED");
    await (await (a.registry.connect(transit) as Contract).getFunction("issueCredits")(toHex(first.deedId))).wait();
    await refused(a.registry, transit, "issueCredits", [toHex(first.deedId)], "DEED_ALREADY_CREDITED");
    const afterDeed = await snapshot();
    assert.equal(afterDeed.balance, before.balance + 50n, "only the one genuine deed was credited");

    // The scenario moved A's clock past B's (to time R3 out): the deadline must be ahead of both.
    const clock = async (c: AppChain) => (await c.chain.node.provider.getBlock("latest"))!.timestamp;
    const deadline = BigInt(Math.max(await clock(a), await clock(b))) + 3600n;
    const request = (platform: string, amount: bigint) => [
      b.chain.chainId,
      platform,
      classBytes,
      amount,
      deadline,
      toHex(new Uint8Array(32)),
    ];
    const cafeOnB = app.wallet("cafe", b).address;
    // More than the balance.
    await refused(a.redemption, citizen, "requestRedemption", request(cafeOnB, afterDeed.balance + 1n), "INSUFFICIENT_CREDITS");
    // A platform nobody registered on chain B.
    await refused(a.redemption, citizen, "requestRedemption", request(app.wallet("bureau", b).address, 10n), "UNKNOWN_PLATFORM");
    // More than the lane's credit limit (500 credits) allows at once.
    await refused(a.redemption, citizen, "requestRedemption", request(cafeOnB, 501n), "RATE_LIMITED");
    // A confirmation for an unknown lock, by a registered platform on B.
    await refused(b.redemption, app.wallet("cafe", b), "confirm", [keccak256(toUtf8Bytes("no such lock"))], "UNKNOWN_REDEMPTION");
    // A refund after a burn: R1 was burned.
    await refused(a.redemption, citizen, "refundAfterTimeout", [result.redemptions[0]!.id], "ALREADY_BURNED");
    // A settlement line marked with a proof of another batch, and a line marked twice.
    const other = { ...result.batch, settlementRoot: new Uint8Array(32) };
    await refused(
      a.settlement,
      app.wallet("bank", a),
      "markSettled",
      markSettledArgs(result.batch, 0, hexBytes(b32("AGAIN"))),
      "LINE_ALREADY_SETTLED",
    );
    await refused(a.settlement, app.wallet("fund", a), "markSettled", markSettledArgs(other, 0, hexBytes(b32("X"))), "NOT_CLEARING");
    assert.deepEqual(await snapshot(), afterDeed, "nothing changed on A");

    // Governance from someone other than the regulator is executed by the inbox and refused by the registry.
    const intruder = app.wallet("bureau", b);
    const payload = encodeAllianceGovernance({
      op: "grant",
      role: ALLIANCE_ROLE.platform,
      roleChainId: b.chain.chainId,
      account: hexBytes(intruder.address),
    });
    const nonce = (await b.chain.outbox.getFunction("nextNonce")(a.chain.chainId)) as bigint;
    await (
      await (b.chain.outbox.connect(intruder) as Contract).getFunction("send")(a.chain.chainId, await a.alliance.getAddress(), payload)
    ).wait();
    await waitFor(
      "the intruder's message to be consumed",
      async () => (await a.chain.inbox.getFunction("isDelivered")(b.chain.chainId, nonce)) as boolean,
    );
    assert.equal(await a.alliance.getFunction("hasRole")(ALLIANCE_ROLE.platform, b.chain.chainId, intruder.address), false);

    // The regulator pauses the lane: redemptions on it are refused until it resumes it.
    await govern(app, b, a, [encodeAllianceGovernance({ op: "pauseLane", laneChainId: b.chain.chainId })]);
    await refused(a.redemption, citizen, "requestRedemption", request(cafeOnB, 10n), "LANE_PAUSED");
    await govern(app, b, a, [encodeAllianceGovernance({ op: "resumeLane", laneChainId: b.chain.chainId })]);
    await (await (a.redemption.connect(citizen) as Contract).getFunction("requestRedemption")(...request(cafeOnB, 10n))).wait();
    assert.equal((await snapshot()).locked, 10n);
  });
});
