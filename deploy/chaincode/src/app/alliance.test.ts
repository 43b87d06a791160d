import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAllianceGovernance } from "@shandu/deploy";
import { concatBytes, encodeMessage, toHex } from "@shandu/proofs";
import { codeOf } from "../testing/harness.ts";
import { org1Admin, org1User, org2User } from "../testing/identities.ts";
import { receiveGovernance } from "./alliance.ts";
import { ShanduApp } from "./app.ts";
import { APP_RECIPIENT, readAppConfig } from "./common.ts";
import { ALLIANCE_GOVERNOR, accountOf, committee, GOVERNANCE_CHAIN, refused, utf8, World } from "./testing/world.ts";

const A = 3003n;
const acct = new Uint8Array(20).fill(0x11);
const sponsor = new Uint8Array(20).fill(0x22);
const creditClass = new Uint8Array(32).fill(0xc1);

async function world(): Promise<World> {
  return new World({ chainId: A, redemptionPeers: [[4004n, "shandu"]] }).setup();
}

async function view(w: World, f: (ctx: Parameters<World["app"]["hasRole"]>[0]) => Promise<string>): Promise<string> {
  const r = await w.tx(org1User, f);
  assert.equal(codeOf(r), "ok");
  return r.result!;
}

describe("ShanduApp: initialise", () => {
  it("only after the inbox, only by the initialiser MSP, only once, with valid sources and peers", async () => {
    const w = new World({ chainId: A, redemptionPeers: [[4004n, "shandu"]] });
    const init = (json: string, who = org1Admin) => w.tx(who, (ctx) => w.app.initialise(ctx, json));
    await refused(w, "NOT_INITIALISED", () => init(w.appConfigJson()));
    assert.equal(codeOf(await w.h.initialise(committee.committee, { chainId: A })), "ok");
    await refused(w, "NOT_AUTHORISED", () => init(w.appConfigJson(), org2User));
    const closed = new World({ chainId: A });
    const noMsp = new ShanduApp({ environment: { initialiserMsp: undefined } });
    await refused(closed, "INITIALISER_NOT_CONFIGURED", () => closed.tx(org1Admin, (ctx) => noMsp.initialise(ctx, "{}")));
    const base = JSON.parse(w.appConfigJson());
    const cfg = (patch: Record<string, unknown>) => JSON.stringify({ ...base, ...patch });
    const gov = (chainId: string, sender: string) => [{ chainId, sender }];
    const peer = (chainId: string, recipient: string) => [{ chainId, recipient }];
    await refused(w, "SCHEMA", () => init("{nope"));
    await refused(w, "SCHEMA", () => init(cfg({ refundMarginSeconds: 5 })));
    await refused(w, "NO_GOVERNANCE_SOURCE", () => init(cfg({ governance: [] })));
    await refused(w, "INVALID_GOVERNANCE_SOURCE", () => init(cfg({ governance: gov("0", "0x01") })));
    await refused(w, "INVALID_GOVERNANCE_SOURCE", () => init(cfg({ governance: gov("3003", "0x01") })));
    await refused(w, "INVALID_GOVERNANCE_SOURCE", () => init(cfg({ governance: gov("1001", "0x") })));
    await refused(w, "INVALID_GOVERNANCE_SOURCE", () => init(cfg({ governance: gov("1001", `0x${"ab".repeat(65)}`) })));
    await refused(w, "DUPLICATE_GOVERNANCE_SOURCE", () => init(cfg({ governance: [...gov("1001", "0x01"), ...gov("1001", "0x01")] })));
    await refused(w, "INVALID_PEER", () => init(cfg({ redemptionPeers: peer("0", "0x01") })));
    await refused(w, "INVALID_PEER", () => init(cfg({ redemptionPeers: peer("3003", "0x01") })));
    await refused(w, "INVALID_PEER", () => init(cfg({ settlementPeers: peer("4004", "0x") })));
    await refused(w, "INVALID_PEER", () => init(cfg({ redemptionPeers: peer("1001", toHex(ALLIANCE_GOVERNOR)) })));
    await refused(w, "DUPLICATE_PEER", () => init(cfg({ redemptionPeers: [...peer("4004", "0x01"), ...peer("4004", "0x02")] })));
    // Several senders on one chain are allowed, as on the EVM.
    const ok = await init(cfg({ governance: [...base.governance, ...gov("1001", "0x01")] }));
    assert.equal(codeOf(ok), "ok");
    assert.equal(ok.event, undefined);
    await refused(w, "ALREADY_INITIALISED", () => init(w.appConfigJson()));
    const stored = JSON.parse(await view(w, (ctx) => w.app.configuration(ctx)));
    assert.deepEqual(stored.redemptionPeers, { "4004": toHex(utf8("shandu")) });
    assert.equal(await view(w, (ctx) => w.app.isGovernanceSource(ctx, "1001", "0x01")), "true");
    assert.equal(await view(w, (ctx) => w.app.isGovernanceSource(ctx, "1001", `0x${"70".repeat(32)}`)), "false");
  });

  it("the calling client's account is the last 20 bytes of its Shandu sender", async () => {
    const w = await world();
    assert.equal(await view(w, (ctx) => w.app.accountOf(ctx)), toHex(accountOf(org1User)));
    const sender = await w.tx(org1User, (ctx) => w.h.outbox.senderOf(ctx));
    assert.equal(toHex(accountOf(org1User)), `0x${sender.result!.slice(-40)}`);
  });
});

describe("ShanduAlliance semantics: governance through attested messages", () => {
  it("every op runs, is visible, and is idempotent", async () => {
    const w = await world();
    const hasRole = (role: number, chain: bigint, a: Uint8Array) =>
      view(w, (ctx) => w.app.hasRole(ctx, String(role), chain.toString(), toHex(a)));
    const grant = encodeAllianceGovernance({ op: "grant", role: 4, roleChainId: 4004n, account: acct });
    for (let i = 0; i < 2; i++) assert.deepEqual((await w.governance(grant)).executed.length, 1);
    assert.equal(await hasRole(4, 4004n, acct), "true");
    assert.equal(await hasRole(4, A, acct), "false");
    assert.equal(await hasRole(1, 4004n, acct), "false");
    const revoke = encodeAllianceGovernance({ op: "revoke", role: 4, roleChainId: 4004n, account: acct });
    for (let i = 0; i < 2; i++) await w.governance(revoke);
    assert.equal(await hasRole(4, 4004n, acct), "false");

    const limit = encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: 4004n, capacity: 500n, refillPerSecond: 2n });
    const lane = () => view(w, (ctx) => w.app.laneLimit(ctx, "4004"));
    assert.equal(await lane(), '{"open":false,"paused":false,"capacity":"0","refillPerSecond":"0"}');
    await w.governance(encodeAllianceGovernance({ op: "pauseLane", laneChainId: 4004n }));
    assert.equal(await lane(), '{"open":false,"paused":true,"capacity":"0","refillPerSecond":"0"}');
    await w.governance(limit);
    await w.governance(limit);
    assert.equal(await lane(), '{"open":true,"paused":true,"capacity":"500","refillPerSecond":"2"}');
    await w.governance(encodeAllianceGovernance({ op: "resumeLane", laneChainId: 4004n }));
    assert.equal(await lane(), '{"open":true,"paused":false,"capacity":"500","refillPerSecond":"2"}');

    const hash = new Uint8Array(32).fill(0x5a);
    await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: hash }));
    assert.equal(await view(w, (ctx) => w.app.measurerCommittee(ctx)), toHex(hash));
    await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: new Uint8Array(32) }));
    assert.equal(await view(w, (ctx) => w.app.measurerCommittee(ctx)), toHex(new Uint8Array(32)));

    const setSponsor = encodeAllianceGovernance({ op: "setClassSponsor", creditClass, sponsor });
    // Before the sponsor holds SPONSOR on this chain the message fails (retryable); after the grant it runs.
    const early = await w.governance(setSponsor);
    assert.deepEqual(early.failed, ["10"]);
    await w.governance(encodeAllianceGovernance({ op: "grant", role: 3, roleChainId: A, account: sponsor }));
    const retried = await w.tx(org1User, (ctx) => w.h.inbox.retry(ctx, toHex(encodeMessage(early.message))));
    assert.equal(JSON.parse(retried.result!).ok, true);
    assert.equal(await view(w, (ctx) => w.app.classSponsor(ctx, toHex(creditClass))), toHex(sponsor));
    // Revoking SPONSOR later does not unset the class.
    await w.governance(encodeAllianceGovernance({ op: "revoke", role: 3, roleChainId: A, account: sponsor }));
    assert.equal(await view(w, (ctx) => w.app.classSponsor(ctx, toHex(creditClass))), toHex(sponsor));
  });

  it("refuses with the registry's codes, in its order, writing nothing", async () => {
    const w = await world();
    await w.governance(encodeAllianceGovernance({ op: "grant", role: 3, roleChainId: A, account: sponsor }));
    const recv = (payload: Uint8Array, sender = ALLIANCE_GOVERNOR, sourceChainId = GOVERNANCE_CHAIN) =>
      w.receive(APP_RECIPIENT, { sourceChainId, sender, payload });
    const h = (...b: number[]) => Uint8Array.from(b);
    const u64 = (v: bigint) => {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, v);
      return out;
    };
    const role = (r: number, chain: bigint, a: Uint8Array, op = 1) => concatBytes(h(1, op, r), u64(chain), a);
    const cases: [string, Uint8Array][] = [
      ["MALFORMED_PAYLOAD", h(1)],
      ["UNKNOWN_VERSION", h(2, 1)],
      ["UNKNOWN_OP", h(1, 8)],
      ["UNKNOWN_OP", h(1, 0)],
      ["MALFORMED_PAYLOAD", role(4, 4004n, acct).slice(0, 30)],
      ["MALFORMED_PAYLOAD", concatBytes(role(4, 4004n, acct), h(0))],
      ["MALFORMED_PAYLOAD", h(1, 3, 0)],
      ["MALFORMED_PAYLOAD", h(1, 4)],
      ["MALFORMED_PAYLOAD", h(1, 6, 1)],
      ["MALFORMED_PAYLOAD", h(1, 7, 1)],
      ["INVALID_ROLE", role(0, 4004n, acct)],
      ["INVALID_ROLE", role(6, 4004n, acct, 2)],
      ["INVALID_CHAIN_ID", role(4, 0n, acct)],
      ["INVALID_ACCOUNT", role(4, 4004n, new Uint8Array(20))],
      ["INVALID_CHAIN_ID", concatBytes(h(1, 3), u64(0n), new Uint8Array(15), h(1), new Uint8Array(16))],
      ["INVALID_CHAIN_ID", concatBytes(h(1, 3), u64(A), new Uint8Array(15), h(1), new Uint8Array(16))],
      ["INVALID_LANE_LIMIT", concatBytes(h(1, 3), u64(4004n), new Uint8Array(32))],
      ["INVALID_CHAIN_ID", concatBytes(h(1, 4), u64(0n))],
      ["INVALID_CHAIN_ID", concatBytes(h(1, 5), u64(A))],
      ["INVALID_ACCOUNT", concatBytes(h(1, 7), creditClass, new Uint8Array(20))],
      ["SPONSOR_NOT_REGISTERED", concatBytes(h(1, 7), creditClass, acct)],
    ];
    for (const [code, payload] of cases) await refused(w, code, () => recv(payload));
    // Not a governance source: the application's recipient treats it as a redemption message.
    const grant = role(4, 4004n, acct);
    await refused(w, "UNKNOWN_SENDER", () => recv(grant, new Uint8Array(20).fill(0x71), 4004n));
    await refused(w, "UNKNOWN_PEER", () => recv(grant, new Uint8Array(32).fill(0x70)));
    // The registry's own check, as the EVM contract makes it.
    const direct = await w.direct(async (s) =>
      receiveGovernance(s, await readAppConfig(s), {
        sourceChainId: GOVERNANCE_CHAIN,
        sender: new Uint8Array(32).fill(0x70),
        nonce: 0n,
        payload: grant,
        messageId: new Uint8Array(32),
        txTimeSeconds: 0n,
        txId: "",
      }),
    );
    assert.equal(codeOf(direct), "UNKNOWN_GOVERNANCE_SOURCE");
    // Through a real delivery a refused payload is consumed, recorded as failed, and changes nothing else.
    const before = [...w.snapshot()].filter(([k]) => k.startsWith("app/"));
    assert.deepEqual((await w.governance(role(6, 4004n, acct))).failed, ["1"]);
    assert.deepEqual(
      [...w.snapshot()].filter(([k]) => k.startsWith("app/")),
      before,
    );
  });
});
