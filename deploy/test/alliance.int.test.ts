/**
 * The alliance registry (`ShanduAlliance`) on a real anvil node. The test plays the chain's inbox: it calls
 * `shanduReceive` from the wallet the registry was deployed with as its inbox, with governance payloads from
 * the sources fixed at deployment. Every operation with its event and idempotency, every refusal with its
 * code and the registry left as it was, the deployment checks, and the payload codec.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { CodecError, concatBytes, toHex } from "@shandu/proofs";
import { type Contract, ContractFactory, getAddress, getBytes, Interface, type TransactionReceipt, type Wallet } from "ethers";
import {
  ALLIANCE_OP,
  ALLIANCE_PAYLOAD_LENGTH,
  ALLIANCE_ROLE,
  type AllianceGovernance,
  decodeAllianceGovernance,
  encodeAllianceGovernance,
  loadArtifact,
  reasonCode,
} from "../src/mod.ts";
import { rejectsWith } from "./refusals.ts";

const HERE = 1001n;
const PEER = 2002n;
const REGULATOR_CHAIN = 9009n;
const OTHER_CHAIN = 9010n;
const REGULATOR = getBytes("0x00000000000000000000000000000000000c0de1");
/** A governance sender that is not an EVM address (33 bytes), from a second source chain. */
const LONG_SENDER = new Uint8Array(33).fill(0xab);

const allianceAbi = new Interface(loadArtifact("ShanduAlliance").abi);

const hex = (b: Uint8Array) => toHex(b);
/** An address as ethers returns it (checksummed). */
const addr = (b: Uint8Array) => getAddress(toHex(b));
const bytes32 = (s: string) => reasonCode(s);

describe("alliance registry on anvil", { timeout: 120_000 }, () => {
  let node: AnvilNode;
  let deployer: Wallet;
  let inbox: Wallet;
  let outsider: Wallet;
  let alliance: Contract;
  let nonce = 0n;
  const shop = getBytes("0x0000000000000000000000000000000000005401");
  const fund = getBytes("0x0000000000000000000000000000000000005f01");
  const issuer = getBytes("0x0000000000000000000000000000000000001501");
  const classA = bytes32("low-carbon-travel");
  const classB = bytes32("elder-care");

  before(async () => {
    node = await startAnvil();
    deployer = node.wallet(0);
    inbox = node.wallet(1);
    outsider = node.wallet(2);
    alliance = await deployContract(deployer, "ShanduAlliance", [
      HERE,
      inbox.address,
      [
        { chainId: REGULATOR_CHAIN, sender: REGULATOR },
        { chainId: OTHER_CHAIN, sender: LONG_SENDER },
      ],
    ]);
  });
  after(async () => {
    await node?.close();
  });

  const view = async (fn: string, ...args: unknown[]) => alliance.getFunction(fn).staticCall(...args);

  /** Delivers `payload` as the inbox would, from the regulator's source unless told otherwise. */
  async function govern(
    payload: Uint8Array,
    from: { chainId: bigint; sender: Uint8Array } = { chainId: REGULATOR_CHAIN, sender: REGULATOR },
  ) {
    nonce += 1n;
    const tx = await (alliance.connect(inbox) as Contract).getFunction("shanduReceive")(from.chainId, from.sender, nonce, payload);
    const receipt = (await node.provider.waitForTransaction(tx.hash)) as TransactionReceipt;
    assert.equal(receipt.status, 1);
    const events = receipt.logs.map((l) => allianceAbi.parseLog(l)!).map((l) => ({ name: l.name, args: l.args.toObject() }));
    return { nonce, events };
  }

  /** A refusal, checked by a static call (nothing is mined). */
  const refused = (payload: Uint8Array, code: string, from = { chainId: REGULATOR_CHAIN, sender: REGULATOR }, caller: Wallet = inbox) =>
    rejectsWith(
      (alliance.connect(caller) as Contract).getFunction("shanduReceive").staticCall(from.chainId, from.sender, 7n, payload),
      code,
    );

  const accounts = () => [shop, fund, issuer].map((a) => hex(a));

  /** Everything the registry answers about the accounts, lanes and classes of this test. */
  async function snapshot() {
    const roles: boolean[] = [];
    for (let role = 0; role <= 6; role++)
      for (const chain of [HERE, PEER]) for (const a of accounts()) roles.push(await view("hasRole", role, chain, a));
    const lanes = [];
    for (const lane of [PEER, 3003n, HERE]) lanes.push((await view("laneLimit", lane)).toArray());
    return {
      roles,
      lanes,
      measurers: await view("measurerCommittee"),
      sponsors: [await view("classSponsor", classA), await view("classSponsor", classB)],
    };
  }

  describe("payload codec", () => {
    const samples: AllianceGovernance[] = [
      { op: "grant", role: ALLIANCE_ROLE.platform, roleChainId: PEER, account: shop },
      { op: "revoke", role: ALLIANCE_ROLE.clearing, roleChainId: (1n << 64n) - 1n, account: fund },
      { op: "setLaneLimit", laneChainId: PEER, capacity: (1n << 128n) - 1n, refillPerSecond: 0n },
      { op: "pauseLane", laneChainId: PEER },
      { op: "resumeLane", laneChainId: 3003n },
      { op: "setMeasurers", committeeSetHash: new Uint8Array(32).fill(7) },
      { op: "setClassSponsor", creditClass: classA, sponsor: fund },
    ];

    test("each op round-trips with its exact length and op byte", () => {
      for (const g of samples) {
        const enc = encodeAllianceGovernance(g);
        assert.equal(enc.length, ALLIANCE_PAYLOAD_LENGTH[g.op]);
        assert.equal(enc[0], 1);
        assert.equal(enc[1], ALLIANCE_OP[g.op]);
        assert.deepEqual(decodeAllianceGovernance(enc), g);
      }
      assert.equal(
        hex(encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: 0x0102n, capacity: 0x0304n, refillPerSecond: 0x05n })),
        `0x0103${"0000000000000102"}${"0304".padStart(32, "0")}${"05".padStart(32, "0")}`,
      );
    });

    test("the decoder refuses what the registry refuses on the payload's face", () => {
      const refuses = (b: Uint8Array, code: string) =>
        assert.throws(
          () => decodeAllianceGovernance(b),
          (e: unknown) => e instanceof CodecError && e.code === code,
        );
      for (const g of samples) {
        const enc = encodeAllianceGovernance(g);
        refuses(enc.subarray(0, enc.length - 1), "TRUNCATED");
        refuses(concatBytes(enc, Uint8Array.of(0)), "TRAILING_BYTES");
        refuses(concatBytes(Uint8Array.of(2), enc.subarray(1)), "UNKNOWN_VERSION");
      }
      refuses(Uint8Array.of(1), "TRUNCATED");
      refuses(Uint8Array.of(1, 0), "UNKNOWN_KIND");
      refuses(Uint8Array.of(1, 8), "UNKNOWN_KIND");
      const grant = encodeAllianceGovernance(samples[0]!);
      refuses(concatBytes(grant.subarray(0, 2), Uint8Array.of(0), grant.subarray(3)), "VALUE_OUT_OF_RANGE");
      refuses(concatBytes(grant.subarray(0, 2), Uint8Array.of(6), grant.subarray(3)), "VALUE_OUT_OF_RANGE");
      refuses(concatBytes(grant.subarray(0, 3), new Uint8Array(8), grant.subarray(11)), "VALUE_OUT_OF_RANGE");
      refuses(concatBytes(grant.subarray(0, 11), new Uint8Array(20)), "VALUE_OUT_OF_RANGE");
      const limit = encodeAllianceGovernance(samples[2]!);
      refuses(concatBytes(limit.subarray(0, 10), new Uint8Array(16), limit.subarray(26)), "VALUE_OUT_OF_RANGE");
      refuses(concatBytes(Uint8Array.of(1, 4), new Uint8Array(8)), "VALUE_OUT_OF_RANGE");
      refuses(concatBytes(Uint8Array.of(1, 7), classA, new Uint8Array(20)), "VALUE_OUT_OF_RANGE");
      for (const bad of [
        { op: "grant", role: 0, roleChainId: PEER, account: shop },
        { op: "grant", role: 6, roleChainId: PEER, account: shop },
        { op: "grant", role: 1, roleChainId: 0n, account: shop },
        { op: "grant", role: 1, roleChainId: PEER, account: new Uint8Array(20) },
        { op: "grant", role: 1, roleChainId: PEER, account: new Uint8Array(19) },
        { op: "setLaneLimit", laneChainId: PEER, capacity: 0n, refillPerSecond: 1n },
        { op: "setLaneLimit", laneChainId: PEER, capacity: 1n << 128n, refillPerSecond: 1n },
        { op: "pauseLane", laneChainId: 1n << 64n },
        { op: "setMeasurers", committeeSetHash: new Uint8Array(31) },
        { op: "setClassSponsor", creditClass: classA, sponsor: new Uint8Array(20) },
      ] as AllianceGovernance[]) {
        assert.throws(
          () => encodeAllianceGovernance(bad),
          CodecError,
          JSON.stringify(bad, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
        );
      }
    });
  });

  describe("deployment", () => {
    test("refuses a bad chain id, inbox or governance source list", async () => {
      const artifact = loadArtifact("ShanduAlliance");
      const factory = new ContractFactory(artifact.abi, artifact.bytecode, deployer);
      const deploys = async (args: unknown[], code: string) => {
        const tx = await factory.getDeployTransaction(...args);
        await rejectsWith(deployer.call(tx), code);
      };
      const ok = { chainId: REGULATOR_CHAIN, sender: REGULATOR };
      await deploys([0n, inbox.address, [ok]], "INVALID_CHAIN_ID");
      await deploys([HERE, `0x${"00".repeat(20)}`, [ok]], "INVALID_INBOX");
      await deploys([HERE, inbox.address, []], "NO_GOVERNANCE_SOURCE");
      await deploys([HERE, inbox.address, [{ chainId: 0n, sender: REGULATOR }]], "INVALID_GOVERNANCE_SOURCE");
      await deploys([HERE, inbox.address, [{ chainId: HERE, sender: REGULATOR }]], "INVALID_GOVERNANCE_SOURCE");
      await deploys([HERE, inbox.address, [{ chainId: REGULATOR_CHAIN, sender: "0x" }]], "INVALID_GOVERNANCE_SOURCE");
      await deploys([HERE, inbox.address, [{ chainId: REGULATOR_CHAIN, sender: new Uint8Array(65) }]], "INVALID_GOVERNANCE_SOURCE");
      await deploys([HERE, inbox.address, [ok, ok]], "DUPLICATE_GOVERNANCE_SOURCE");
      // The same sender on another chain, and another sender on the same chain, are distinct sources.
      await deployer.call(
        await factory.getDeployTransaction(HERE, inbox.address, [
          ok,
          { chainId: OTHER_CHAIN, sender: REGULATOR },
          { chainId: REGULATOR_CHAIN, sender: new Uint8Array(64).fill(1) },
        ]),
      );
    });

    test("exposes what it was deployed with", async () => {
      assert.equal(await view("chainId"), HERE);
      assert.equal(await view("inbox"), inbox.address);
      const sources = (await view("governanceSources")) as { chainId: bigint; sender: string }[];
      assert.deepEqual(
        sources.map((s) => [s.chainId, s.sender]),
        [
          [REGULATOR_CHAIN, hex(REGULATOR)],
          [OTHER_CHAIN, hex(LONG_SENDER)],
        ],
      );
      assert.equal(await view("isGovernanceSource", REGULATOR_CHAIN, REGULATOR), true);
      assert.equal(await view("isGovernanceSource", OTHER_CHAIN, REGULATOR), false);
      assert.equal(await view("measurerCommittee"), `0x${"00".repeat(32)}`);
      assert.deepEqual((await view("laneLimit", PEER)).toArray(), [false, false, 0n, 0n]);
    });
  });

  describe("operations", () => {
    test("grant and revoke, per role and chain, idempotent, each with its event", async () => {
      const grant = encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.platform, roleChainId: PEER, account: shop });
      const first = await govern(grant);
      assert.deepEqual(first.events, [
        {
          name: "RoleGranted",
          args: { role: 4n, roleChainId: PEER, account: addr(shop), sourceChainId: REGULATOR_CHAIN, nonce: first.nonce },
        },
      ]);
      assert.equal(await view("hasRole", ALLIANCE_ROLE.platform, PEER, hex(shop)), true);
      assert.equal(await view("hasRole", ALLIANCE_ROLE.platform, HERE, hex(shop)), false, "a role is per chain");
      assert.equal(await view("hasRole", ALLIANCE_ROLE.sponsor, PEER, hex(shop)), false, "and per role");
      const before = await snapshot();
      const again = await govern(grant, { chainId: OTHER_CHAIN, sender: LONG_SENDER });
      assert.deepEqual(
        again.events.map((e) => [e.name, e.args.sourceChainId, e.args.nonce]),
        [["RoleGranted", OTHER_CHAIN, again.nonce]],
      );
      assert.deepEqual(await snapshot(), before, "granting twice changes nothing");

      const revoke = encodeAllianceGovernance({ op: "revoke", role: ALLIANCE_ROLE.platform, roleChainId: PEER, account: shop });
      const revoked = await govern(revoke);
      assert.deepEqual(revoked.events, [
        {
          name: "RoleRevoked",
          args: { role: 4n, roleChainId: PEER, account: addr(shop), sourceChainId: REGULATOR_CHAIN, nonce: revoked.nonce },
        },
      ]);
      assert.equal(await view("hasRole", ALLIANCE_ROLE.platform, PEER, hex(shop)), false);
      const afterRevoke = await snapshot();
      await govern(revoke);
      assert.deepEqual(await snapshot(), afterRevoke, "revoking twice changes nothing");

      for (const [name, role] of Object.entries(ALLIANCE_ROLE)) {
        await govern(encodeAllianceGovernance({ op: "grant", role, roleChainId: HERE, account: issuer }));
        assert.equal(await view("hasRole", role, HERE, hex(issuer)), true, name);
      }
      await govern(encodeAllianceGovernance({ op: "revoke", role: ALLIANCE_ROLE.distributor, roleChainId: HERE, account: issuer }));
      assert.equal(await view("hasRole", ALLIANCE_ROLE.distributor, HERE, hex(issuer)), false);
      assert.equal(await view("hasRole", ALLIANCE_ROLE.issuer, HERE, hex(issuer)), true);
    });

    test("lane limits: set (opens), pause, resume, change; each idempotent with its event", async () => {
      const set = await govern(encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: PEER, capacity: 500n, refillPerSecond: 2n }));
      assert.deepEqual(set.events, [
        {
          name: "LaneLimitSet",
          args: { laneChainId: PEER, capacity: 500n, refillPerSecond: 2n, sourceChainId: REGULATOR_CHAIN, nonce: set.nonce },
        },
      ]);
      assert.deepEqual((await view("laneLimit", PEER)).toArray(), [true, false, 500n, 2n]);
      const pause = encodeAllianceGovernance({ op: "pauseLane", laneChainId: PEER });
      const paused = await govern(pause);
      assert.deepEqual(paused.events, [
        { name: "LanePaused", args: { laneChainId: PEER, paused: true, sourceChainId: REGULATOR_CHAIN, nonce: paused.nonce } },
      ]);
      assert.deepEqual((await view("laneLimit", PEER)).toArray(), [true, true, 500n, 2n], "pausing keeps the limit");
      await govern(pause);
      assert.deepEqual((await view("laneLimit", PEER)).toArray(), [true, true, 500n, 2n]);
      await govern(encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: PEER, capacity: 80n, refillPerSecond: 0n }));
      assert.deepEqual((await view("laneLimit", PEER)).toArray(), [true, true, 80n, 0n], "a new limit does not resume");
      const resume = encodeAllianceGovernance({ op: "resumeLane", laneChainId: PEER });
      const resumed = await govern(resume);
      assert.deepEqual(resumed.events, [
        { name: "LanePaused", args: { laneChainId: PEER, paused: false, sourceChainId: REGULATOR_CHAIN, nonce: resumed.nonce } },
      ]);
      await govern(resume);
      assert.deepEqual((await view("laneLimit", PEER)).toArray(), [true, false, 80n, 0n]);
      // A lane never opened can be paused ahead of time; it stays closed until a limit is set.
      await govern(encodeAllianceGovernance({ op: "pauseLane", laneChainId: 3003n }));
      assert.deepEqual((await view("laneLimit", 3003n)).toArray(), [false, true, 0n, 0n]);
      await govern(encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: 3003n, capacity: 10n, refillPerSecond: 1n }));
      assert.deepEqual((await view("laneLimit", 3003n)).toArray(), [true, true, 10n, 1n]);
    });

    test("measurers and class sponsors", async () => {
      const hash = new Uint8Array(32).fill(0x42);
      const set = await govern(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: hash }));
      assert.deepEqual(set.events, [
        { name: "MeasurersSet", args: { committeeSetHash: hex(hash), sourceChainId: REGULATOR_CHAIN, nonce: set.nonce } },
      ]);
      assert.equal(await view("measurerCommittee"), hex(hash));
      await govern(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: hash }));
      assert.equal(await view("measurerCommittee"), hex(hash));

      await govern(encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.sponsor, roleChainId: HERE, account: fund }));
      const sponsor = encodeAllianceGovernance({ op: "setClassSponsor", creditClass: classA, sponsor: fund });
      const s = await govern(sponsor);
      assert.deepEqual(s.events, [
        {
          name: "ClassSponsorSet",
          args: { creditClass: hex(classA), sponsor: addr(fund), sourceChainId: REGULATOR_CHAIN, nonce: s.nonce },
        },
      ]);
      assert.equal(await view("classSponsor", classA), addr(fund));
      assert.equal(await view("classSponsor", classB), `0x${"00".repeat(20)}`);
      await govern(sponsor);
      assert.equal(await view("classSponsor", classA), addr(fund));
      // The sponsor is checked when it is set; revoking SPONSOR later does not unset the class.
      await govern(encodeAllianceGovernance({ op: "revoke", role: ALLIANCE_ROLE.sponsor, roleChainId: HERE, account: fund }));
      assert.equal(await view("classSponsor", classA), addr(fund));
      await refused(encodeAllianceGovernance({ op: "setClassSponsor", creditClass: classB, sponsor: fund }), "SPONSOR_NOT_REGISTERED");
    });
  });

  describe("refusals leave the registry as it was", () => {
    test("not the inbox, not a governance source", async () => {
      const before = await snapshot();
      const grant = encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.clearing, roleChainId: PEER, account: shop });
      await refused(grant, "NOT_INBOX", undefined, outsider);
      await refused(grant, "NOT_INBOX", undefined, deployer);
      await refused(grant, "UNKNOWN_GOVERNANCE_SOURCE", { chainId: PEER, sender: REGULATOR });
      await refused(grant, "UNKNOWN_GOVERNANCE_SOURCE", { chainId: REGULATOR_CHAIN, sender: getBytes(outsider.address) });
      await refused(grant, "UNKNOWN_GOVERNANCE_SOURCE", { chainId: REGULATOR_CHAIN, sender: concatBytes(REGULATOR, Uint8Array.of(0)) });
      await refused(grant, "UNKNOWN_GOVERNANCE_SOURCE", { chainId: REGULATOR_CHAIN, sender: LONG_SENDER });
      await refused(grant, "UNKNOWN_GOVERNANCE_SOURCE", { chainId: OTHER_CHAIN, sender: REGULATOR });
      await refused(grant, "UNKNOWN_GOVERNANCE_SOURCE", { chainId: HERE, sender: REGULATOR });
      assert.deepEqual(await snapshot(), before);
    });

    test("malformed, unknown version or op, invalid fields", async () => {
      const before = await snapshot();
      const grant = encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.platform, roleChainId: PEER, account: shop });
      const valid: Record<keyof typeof ALLIANCE_OP, Uint8Array> = {
        grant,
        revoke: encodeAllianceGovernance({ op: "revoke", role: ALLIANCE_ROLE.platform, roleChainId: PEER, account: shop }),
        setLaneLimit: encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: PEER, capacity: 9n, refillPerSecond: 9n }),
        pauseLane: encodeAllianceGovernance({ op: "pauseLane", laneChainId: PEER }),
        resumeLane: encodeAllianceGovernance({ op: "resumeLane", laneChainId: PEER }),
        setMeasurers: encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: new Uint8Array(32).fill(9) }),
        setClassSponsor: encodeAllianceGovernance({ op: "setClassSponsor", creditClass: classB, sponsor: fund }),
      };
      await refused(new Uint8Array(0), "MALFORMED_PAYLOAD");
      await refused(Uint8Array.of(1), "MALFORMED_PAYLOAD");
      for (const enc of Object.values(valid)) {
        await refused(enc.subarray(0, enc.length - 1), "MALFORMED_PAYLOAD");
        await refused(concatBytes(enc, Uint8Array.of(0)), "MALFORMED_PAYLOAD");
        await refused(concatBytes(Uint8Array.of(2), enc.subarray(1)), "UNKNOWN_VERSION");
        await refused(concatBytes(Uint8Array.of(0), enc.subarray(1)), "UNKNOWN_VERSION");
      }
      await refused(concatBytes(Uint8Array.of(1, 0), grant.subarray(2)), "UNKNOWN_OP");
      await refused(concatBytes(Uint8Array.of(1, 8), grant.subarray(2)), "UNKNOWN_OP");
      await refused(Uint8Array.of(1, 0xff), "UNKNOWN_OP");
      for (const op of [1, 2]) {
        const raw = (role: number, chain: Uint8Array, account: Uint8Array) => concatBytes(Uint8Array.of(1, op, role), chain, account);
        const peer = grant.subarray(3, 11);
        await refused(raw(0, peer, shop), "INVALID_ROLE");
        await refused(raw(6, peer, shop), "INVALID_ROLE");
        await refused(raw(255, peer, shop), "INVALID_ROLE");
        await refused(raw(1, new Uint8Array(8), shop), "INVALID_CHAIN_ID");
        await refused(raw(1, peer, new Uint8Array(20)), "INVALID_ACCOUNT");
      }
      const lane = (op: number, chain: bigint, rest: Uint8Array = new Uint8Array(0)) =>
        concatBytes(Uint8Array.of(1, op), getBytes(`0x${chain.toString(16).padStart(16, "0")}`), rest);
      const limit = concatBytes(new Uint8Array(15), Uint8Array.of(5), new Uint8Array(15), Uint8Array.of(1));
      await refused(lane(3, PEER, concatBytes(new Uint8Array(16), limit.subarray(16))), "INVALID_LANE_LIMIT");
      for (const op of [3, 4, 5]) {
        const rest = op === 3 ? limit : new Uint8Array(0);
        await refused(lane(op, 0n, rest), "INVALID_CHAIN_ID");
        await refused(lane(op, HERE, rest), "INVALID_CHAIN_ID");
      }
      await refused(concatBytes(Uint8Array.of(1, 7), classB, new Uint8Array(20)), "INVALID_ACCOUNT");
      // `fund` holds SPONSOR on no chain here now; `shop` holds it on the peer chain only.
      await govern(encodeAllianceGovernance({ op: "grant", role: ALLIANCE_ROLE.sponsor, roleChainId: PEER, account: shop }));
      const withShop = await snapshot();
      await refused(valid.setClassSponsor, "SPONSOR_NOT_REGISTERED");
      await refused(encodeAllianceGovernance({ op: "setClassSponsor", creditClass: classB, sponsor: shop }), "SPONSOR_NOT_REGISTERED");
      assert.deepEqual(await snapshot(), withShop);
      await govern(encodeAllianceGovernance({ op: "revoke", role: ALLIANCE_ROLE.sponsor, roleChainId: PEER, account: shop }));
      assert.deepEqual(await snapshot(), before);
    });
  });
});
