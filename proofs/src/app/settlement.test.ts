import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { toHex, utf8 } from "../bytes.ts";
import { SettlementError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { errorCode } from "../testing/mod.ts";
import {
  type AllianceAgreement,
  type ConfirmedRedemption,
  checkSettlement,
  EMPTY_SETTLEMENT_TREE_ROOT,
  EXACT_NETTING_LIMIT,
  encodeSettlementHeader,
  encodeSettlementLine,
  type Netting,
  netting,
  nettingExact,
  nettingGreedy,
  proveLine,
  recomputeSettlement,
  type SettlementBatch,
  type SettlementWindow,
  verifyLine,
  verifySettledLine,
} from "./settlement.ts";

const code = (f: () => unknown) => errorCode(f, SettlementError);
const rid = (s: string) => sha256(utf8(s));

/** The facts of the SETTLEMENT_MISMATCH that `f` throws. */
function mismatchFacts(f: () => unknown): Record<string, unknown> {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof SettlementError, String(e));
    assert.equal(e.code, "SETTLEMENT_MISMATCH", e.message);
    return { ...e.facts };
  }
  assert.fail("expected SETTLEMENT_MISMATCH");
}

// --- the worked example of docs/settlement.md §6 -----------------------------------------------------

const agreement: AllianceAgreement = {
  id: "sh-sz-lowcarbon-2025",
  currency: "CNY",
  rates: [
    { creditClass: "low-carbon", numerator: 3n, denominator: 2n },
    { creditClass: "low-carbon", sponsor: "green-fund", numerator: 2n, denominator: 1n },
    { creditClass: "charity", numerator: 10n, denominator: 3n },
  ],
};
const window: SettlementWindow = { allianceAgreementId: agreement.id, windowId: 7n, from: 1_750_000_000n, to: 1_750_086_400n };
const redemption = (
  name: string,
  sponsor: string,
  exchangePlatform: string,
  credits: bigint,
  creditClass: string,
): ConfirmedRedemption => ({
  redemptionId: rid(name),
  sponsor,
  exchangePlatform,
  credits,
  creditClass,
  confirmedAt: 1_750_000_100n,
});
const example: ConfirmedRedemption[] = [
  redemption("r1", "green-fund", "sh-metro", 1000n, "low-carbon"),
  redemption("r2", "sh-metro", "sz-mall", 600n, "low-carbon"),
  redemption("r3", "sz-mall", "sh-metro", 201n, "low-carbon"),
  redemption("r4", "green-fund", "sz-mall", 100n, "charity"),
  redemption("r5", "green-fund", "sz-books", 50n, "charity"),
];

/** Positions from a list of (payer, payee, amount). */
function positionsOf(debts: [string, string, bigint][]): { institution: string; net: bigint }[] {
  const m = new Map<string, bigint>();
  for (const [a, b, x] of debts) {
    m.set(a, (m.get(a) ?? 0n) - x);
    m.set(b, (m.get(b) ?? 0n) + x);
  }
  return [...m].map(([institution, net]) => ({ institution, net }));
}

/** Every institution's (in − out) over the transfers equals its net position, and amounts are positive. */
function assertSettles(positions: readonly { institution: string; net: bigint }[], n: Netting): void {
  const flow = new Map<string, bigint>();
  for (const t of n.transfers) {
    assert.ok(t.amount > 0n);
    assert.notEqual(t.payer, t.payee);
    flow.set(t.payer, (flow.get(t.payer) ?? 0n) - t.amount);
    flow.set(t.payee, (flow.get(t.payee) ?? 0n) + t.amount);
  }
  for (const p of positions) assert.equal(flow.get(p.institution) ?? 0n, p.net, p.institution);
  for (const id of flow.keys()) assert.ok(positions.some((p) => p.institution === id));
}

/** Independent optimum: n − (largest number of blocks in a partition into zero-sum blocks), by enumeration. */
function bruteMinimum(values: bigint[]): number {
  let best = 0;
  const blocks: bigint[] = [];
  const go = (i: number) => {
    if (i === values.length) {
      if (blocks.every((s) => s === 0n)) best = Math.max(best, blocks.length);
      return;
    }
    for (let b = 0; b < blocks.length; b++) {
      blocks[b]! += values[i]!;
      go(i + 1);
      blocks[b]! -= values[i]!;
    }
    blocks.push(values[i]!);
    go(i + 1);
    blocks.pop();
  };
  go(0);
  return values.length - best;
}

const show = (b: SettlementBatch) => ({
  obligations: b.obligations.map((o) => `${o.payer}→${o.payee} ${o.amount} (${o.redemptions}, ${o.roundedOff})`),
  positions: b.positions.map((p) => `${p.institution} ${p.receives} ${p.pays} ${p.net}`),
  lines: b.lines.map((l) => `${l.index} ${l.payer}→${l.payee} ${l.amount} ${l.currency}`),
});

describe("settlement: worked example (docs/settlement.md §6)", () => {
  const batch = recomputeSettlement(window, example, agreement);

  it("has the documented obligations, positions, lines and totals", () => {
    assert.deepEqual(show(batch), {
      obligations: [
        "green-fund→sh-metro 2000 (1, 0)",
        "green-fund→sz-books 166 (1, 4)",
        "green-fund→sz-mall 333 (1, 2)",
        "sh-metro→sz-mall 900 (1, 0)",
        "sz-mall→sh-metro 301 (1, 3)",
      ],
      positions: ["green-fund 0 2499 -2499", "sh-metro 2301 900 1401", "sz-books 166 0 166", "sz-mall 1233 301 932"],
      lines: ["0 green-fund→sh-metro 1401 CNY", "1 green-fund→sz-books 166 CNY", "2 green-fund→sz-mall 932 CNY"],
    });
    const h = batch.header;
    assert.equal(h.grossTotal, 3700n);
    assert.equal(h.netTotal, 2499n);
    assert.equal(h.roundingDenominator, 6n);
    assert.equal(h.roundedOff, 9n);
    assert.equal(h.nettingMethod, "exact");
    assert.deepEqual([h.redemptionCount, h.obligationCount, h.positionCount, h.lineCount], [5, 5, 4, 3]);
  });

  it("has the documented encodings and roots", () => {
    assert.equal(
      toHex(encodeSettlementLine(batch.lines[0]!)),
      "0x000000000000000700000000000a677265656e2d66756e64000873682d6d6574726f0000000000000000000000000000057903434e59",
    );
    assert.equal(
      toHex(encodeSettlementHeader(batch.header)),
      "0x01001473682d737a2d6c6f77636172626f6e2d32303235000000000000000700000000684ee180000000006850330003434e5900000005" +
        "02aaf9ee5cf8e6f38a7e9cbbcf575919d896f98a0be64d891573fb715a8ee89400000005" +
        "00000000000000000000000000000e74" +
        "00000000000000000000000000000006" +
        "00000000000000000000000000000009" +
        "00000004" +
        "01" +
        "00000003" +
        "000000000000000000000000000009c3",
    );
    assert.equal(toHex(batch.treeRoot), "0x6869a3f8e69e222d0d8b35d9f3b2fcf03ff6beb981d336013b813d042c2d5754");
    assert.equal(toHex(batch.settlementRoot), "0xef5dddc8e2bd6f8017517962d6011b77401a9ecc7d83511d1c6e5cef54b616f3");
  });

  it("passes the audit, and every line verifies against the settlement root", () => {
    checkSettlement(batch, window, [...example].reverse(), agreement);
    for (const line of batch.lines) {
      const proof = proveLine(batch, line.index);
      verifyLine(batch.treeRoot, line, proof);
      verifySettledLine(batch.settlementRoot, batch.header, line, proof);
    }
  });
});

describe("settlement: netting", () => {
  it("A owes B 10, B owes C 10: one transfer A→C", () => {
    const n = nettingExact(
      positionsOf([
        ["A", "B", 10n],
        ["B", "C", 10n],
      ]),
    );
    assert.deepEqual(n.transfers, [{ payer: "A", payee: "C", amount: 10n }]);
  });

  it("two disjoint triangles: 4 transfers, each within its triangle", () => {
    const ps = positionsOf([
      ["A", "B", 5n],
      ["B", "C", 8n],
      ["C", "A", 1n],
      ["D", "E", 7n],
      ["E", "F", 2n],
      ["F", "D", 4n],
    ]);
    const n = nettingExact(ps);
    assertSettles(ps, n);
    assert.equal(n.transfers.length, 4);
    for (const t of n.transfers) assert.equal("ABC".includes(t.payer), "ABC".includes(t.payee));
  });

  it("exact beats greedy where the greedy pairs across groups", () => {
    const ps = [
      { institution: "A", net: -5n },
      { institution: "B", net: 4n },
      { institution: "C", net: -4n },
      { institution: "D", net: -9n },
      { institution: "E", net: 3n },
      { institution: "F", net: 11n },
    ];
    const exact = nettingExact(ps);
    const greedy = nettingGreedy(ps);
    assertSettles(ps, exact);
    assertSettles(ps, greedy);
    assert.equal(exact.transfers.length, 4);
    assert.equal(greedy.transfers.length, 5);
    assert.ok(exact.transfers.some((t) => t.payer === "C" && t.payee === "B" && t.amount === 4n));
  });

  it("nothing to net: no transfers", () => {
    assert.deepEqual(nettingExact([{ institution: "A", net: 0n }]).transfers, []);
    assert.deepEqual(netting([]).transfers, []);
  });

  it("refuses positions that do not sum to zero", () => {
    assert.equal(
      code(() => netting([{ institution: "A", net: 1n }])),
      "SETTLEMENT_MISMATCH",
    );
  });

  const arbPositions = (maxN: number, maxAbs: number) =>
    fc.array(fc.integer({ min: -maxAbs, max: maxAbs }), { minLength: 1, maxLength: maxN - 1 }).map((xs) => {
      const vals = xs.map(BigInt);
      vals.push(-vals.reduce((a, b) => a + b, 0n));
      return vals.map((net, i) => ({ institution: `inst-${String(i).padStart(2, "0")}`, net }));
    });

  it("property: transfers settle every position exactly, at most n − 1 of them, exact ≤ greedy", () => {
    fc.assert(
      fc.property(arbPositions(EXACT_NETTING_LIMIT, 20), (ps) => {
        const n = ps.filter((p) => p.net !== 0n).length;
        const exact = nettingExact(ps);
        const greedy = nettingGreedy(ps);
        assertSettles(ps, exact);
        assertSettles(ps, greedy);
        assert.ok(greedy.transfers.length <= Math.max(0, n - 1));
        assert.ok(exact.transfers.length <= greedy.transfers.length);
        assert.deepEqual(netting(ps), exact);
      }),
      { numRuns: 300 },
    );
  });

  it("property: exact is the true minimum (checked by enumeration, up to 8 positions)", () => {
    fc.assert(
      fc.property(arbPositions(8, 6), (ps) => {
        const values = ps.map((p) => p.net).filter((v) => v !== 0n);
        assert.equal(nettingExact(ps).transfers.length, bruteMinimum(values));
      }),
      { numRuns: 300 },
    );
  });

  it("property: above the limit the greedy is used, still n − 1 at most", () => {
    fc.assert(
      fc.property(arbPositions(40, 1_000_000), (ps) => {
        const n = ps.filter((p) => p.net !== 0n).length;
        const r = netting(ps);
        assert.equal(r.method, n <= EXACT_NETTING_LIMIT ? "exact" : "greedy");
        assertSettles(ps, r);
        assert.ok(r.transfers.length <= Math.max(0, n - 1));
      }),
      { numRuns: 200 },
    );
  });
});

// --- random windows --------------------------------------------------------------------------------

const INSTITUTIONS = ["green-fund", "sh-metro", "sz-mall", "sz-books", "上海地铁", "深圳商城", "Ω-bank", "a", "ab", "b"];
const arbRedemptions = (maxLength: number) =>
  fc
    .array(
      fc.record({
        sponsor: fc.constantFrom(...INSTITUTIONS),
        exchangePlatform: fc.constantFrom(...INSTITUTIONS),
        credits: fc.bigInt({ min: 1n, max: 10n ** 12n }),
        creditClass: fc.constantFrom("low-carbon", "charity"),
        confirmedAt: fc.bigInt({ min: window.from, max: window.to - 1n }),
      }),
      { maxLength },
    )
    .map((rs) =>
      rs
        .filter((r) => r.sponsor !== r.exchangePlatform)
        .map((r, i): ConfirmedRedemption => ({ ...r, redemptionId: rid(`random-${i}-${r.sponsor}-${r.credits}`) })),
    );

describe("settlement: batches", () => {
  it("property: totals are conserved and the batch passes its own audit", () => {
    fc.assert(
      fc.property(arbRedemptions(40), (rs) => {
        const b = recomputeSettlement(window, rs, agreement);
        assert.equal(
          b.positions.reduce((s, p) => s + p.net, 0n),
          0n,
        );
        assert.equal(
          b.header.grossTotal,
          b.obligations.reduce((s, o) => s + o.amount, 0n),
        );
        assert.equal(
          b.header.netTotal,
          b.lines.reduce((s, l) => s + l.amount, 0n),
        );
        assertSettles(b.positions, { method: b.header.nettingMethod, transfers: b.lines });
        assert.ok(b.lines.length <= Math.max(0, b.header.positionCount - 1));
        assert.ok(b.header.netTotal <= b.header.grossTotal);
        for (const [i, l] of b.lines.entries()) assert.equal(l.index, i);
        checkSettlement(b, window, rs, agreement);
      }),
      { numRuns: 200 },
    );
  });

  it("property: input order does not matter (byte-identical lines, header and root)", () => {
    fc.assert(
      fc.property(
        arbRedemptions(30).chain((rs) =>
          fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length })),
        ),
        ([rs, shuffled]) => {
          const a = recomputeSettlement(window, rs, agreement);
          const b = recomputeSettlement(window, shuffled, { ...agreement, rates: [...agreement.rates].reverse() });
          assert.deepEqual(a.lines.map(encodeSettlementLine), b.lines.map(encodeSettlementLine));
          assert.deepEqual(encodeSettlementHeader(a.header), encodeSettlementHeader(b.header));
          assert.deepEqual(a.settlementRoot, b.settlementRoot);
          assert.deepEqual(a, b);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("property: every line's proof verifies, and fails for another line or another root", () => {
    fc.assert(
      fc.property(arbRedemptions(40), (rs) => {
        const b = recomputeSettlement(window, rs, agreement);
        for (const line of b.lines) {
          const proof = proveLine(b, line.index);
          verifyLine(b.treeRoot, line, proof);
          verifySettledLine(b.settlementRoot, b.header, line, proof);
          assert.equal(
            code(() => verifyLine(b.settlementRoot, line, proof)),
            "LINE_PROOF_INVALID",
          );
          assert.equal(
            code(() => verifyLine(b.treeRoot, { ...line, amount: line.amount + 1n }, proof)),
            "LINE_PROOF_INVALID",
          );
          for (const other of b.lines) {
            if (other.index === line.index) continue;
            assert.equal(
              code(() => verifyLine(b.treeRoot, other, proof)),
              "LINE_PROOF_INVALID",
            );
            assert.equal(
              code(() => verifyLine(b.treeRoot, { ...other, index: line.index }, proof)),
              "LINE_PROOF_INVALID",
            );
          }
          assert.equal(
            code(() => verifySettledLine(b.settlementRoot, { ...b.header, netTotal: b.header.netTotal + 1n }, line, proof)),
            "LINE_PROOF_INVALID",
          );
        }
      }),
      { numRuns: 100 },
    );
  });

  it("uses the greedy above the exact limit and says so in the header", () => {
    const rs = Array.from({ length: 14 }, (_, i) =>
      redemption(`chain-${i}`, `inst-${String(i).padStart(2, "0")}`, `inst-${String(i + 1).padStart(2, "0")}`, BigInt(10 + i), "charity"),
    );
    const b = recomputeSettlement(window, rs, agreement);
    assert.equal(b.header.positionCount, 15);
    assert.equal(b.header.nettingMethod, "greedy");
    assert.ok(b.lines.length <= 14);
    checkSettlement(b, window, rs, agreement);
  });

  it("an empty window gives an empty batch with the empty root", () => {
    const b = recomputeSettlement(window, [], agreement);
    assert.equal(b.header.lineCount, 0);
    assert.deepEqual(b.treeRoot, EMPTY_SETTLEMENT_TREE_ROOT);
    assert.deepEqual(b.header.redemptionsRoot, EMPTY_SETTLEMENT_TREE_ROOT);
    assert.notDeepEqual(b.treeRoot, new Uint8Array(32));
    assert.equal(
      code(() => proveLine(b, 0)),
      "INDEX_OUT_OF_RANGE",
    );
  });

  it("redemptions that cancel out give obligations but no lines", () => {
    const rs = [redemption("x", "A", "B", 10n, "charity"), redemption("y", "B", "A", 10n, "charity")];
    const b = recomputeSettlement(window, rs, agreement);
    assert.equal(b.obligations.length, 2);
    assert.equal(b.lines.length, 0);
    assert.equal(b.header.positionCount, 0);
  });
});

describe("settlement: audit of tampered batches", () => {
  const rs = [
    ...example,
    redemption("r6", "sz-mall", "sz-books", 900n, "low-carbon"),
    redemption("r7", "sh-metro", "green-fund", 40n, "charity"),
  ];
  const good = recomputeSettlement(window, rs, agreement);
  const clone = (): SettlementBatch => structuredClone(good);

  it("the untampered batch passes", () => {
    assert.ok(good.lines.length >= 3);
    checkSettlement(clone(), window, rs, agreement);
  });

  it("a changed amount is named by line and field", () => {
    const b = clone();
    b.lines[1]!.amount += 1n;
    const f = mismatchFacts(() => checkSettlement(b, window, rs, agreement));
    assert.deepEqual([f.step, f.index, f.field], ["line", 1, "amount"]);
    assert.equal(f.expected, good.lines[1]!.amount);
  });

  it("a changed amount with a consistent header is named as the total", () => {
    const b = clone();
    b.lines[0]!.amount += 5n;
    b.header.netTotal += 5n;
    const f = mismatchFacts(() => checkSettlement(b, window, rs, agreement));
    assert.deepEqual([f.step, f.field], ["header", "netTotal"]);
  });

  it("a dropped line", () => {
    const b = clone();
    b.lines.pop();
    const f = mismatchFacts(() => checkSettlement(b, window, rs, agreement));
    assert.deepEqual([f.step, f.index, f.field], ["line", good.lines.length - 1, "missing"]);
    const c = clone();
    c.lines.splice(0, 1);
    c.header.lineCount -= 1;
    assert.equal(mismatchFacts(() => checkSettlement(c, window, rs, agreement)).field, "lineCount");
  });

  it("an extra line", () => {
    const b = clone();
    b.lines.push({ ...good.lines[0]!, index: good.lines.length, payee: "mallory" });
    const f = mismatchFacts(() => checkSettlement(b, window, rs, agreement));
    assert.deepEqual([f.step, f.index, f.field], ["line", good.lines.length, "extra"]);
  });

  it("a swapped payee", () => {
    const b = clone();
    b.lines[2]!.payee = "mallory";
    const f = mismatchFacts(() => checkSettlement(b, window, rs, agreement));
    assert.deepEqual([f.step, f.index, f.field, f.actual], ["line", 2, "payee", "mallory"]);
  });

  it("a changed obligation, position, tree root or settlement root", () => {
    const o = clone();
    o.obligations[0]!.amount -= 1n;
    assert.deepEqual(Object.values(pick(mismatchFacts(() => checkSettlement(o, window, rs, agreement)))), ["obligation", 0, "amount"]);
    const p = clone();
    p.positions[3]!.net += 1n;
    assert.deepEqual(Object.values(pick(mismatchFacts(() => checkSettlement(p, window, rs, agreement)))), ["position", 3, "net"]);
    const t = clone();
    t.treeRoot = sha256(t.treeRoot);
    assert.equal(mismatchFacts(() => checkSettlement(t, window, rs, agreement)).step, "treeRoot");
    const s = clone();
    s.settlementRoot = sha256(s.settlementRoot);
    assert.equal(mismatchFacts(() => checkSettlement(s, window, rs, agreement)).step, "settlementRoot");
  });

  it("a batch computed without one confirmation differs from the audit of all of them", () => {
    const partial = recomputeSettlement(window, rs.slice(1), agreement);
    const f = mismatchFacts(() => checkSettlement(partial, window, rs, agreement));
    assert.deepEqual([f.step, f.field], ["header", "redemptionCount"]);
  });
});

const pick = (f: Record<string, unknown>) => ({ step: f.step, index: f.index, field: f.field });

describe("settlement: refused input", () => {
  const base = example[0]!;
  const run = (rs: ConfirmedRedemption[], a: AllianceAgreement = agreement, w: SettlementWindow = window) =>
    code(() => recomputeSettlement(w, rs, a));

  it("duplicate redemption ids, in any order", () => {
    assert.equal(run([...example, { ...example[2]!, credits: 1n }]), "DUPLICATE_REDEMPTION");
    assert.equal(run([example[2]!, ...example]), "DUPLICATE_REDEMPTION");
  });
  it("unknown credit class and missing rate", () => {
    assert.equal(run([{ ...base, creditClass: "healthy-living" }]), "UNKNOWN_CREDIT_CLASS");
    const sponsorOnly: AllianceAgreement = {
      ...agreement,
      rates: [{ creditClass: "x", sponsor: "green-fund", numerator: 1n, denominator: 1n }],
    };
    assert.equal(run([{ ...base, creditClass: "x", sponsor: "other" }], sponsorOnly), "MISSING_RATE");
  });
  it("zero and negative credits", () => {
    assert.equal(run([{ ...base, credits: 0n }]), "NON_POSITIVE_CREDITS");
    assert.equal(run([{ ...base, credits: -3n }]), "NON_POSITIVE_CREDITS");
  });
  it("bad ids, windows, rates and agreements", () => {
    assert.equal(run([{ ...base, redemptionId: new Uint8Array(31) }]), "INVALID_REDEMPTION_ID");
    assert.equal(run([{ ...base, sponsor: "" }]), "INVALID_ID");
    assert.equal(run([{ ...base, sponsor: "\ud800" }]), "INVALID_ID");
    assert.equal(run([{ ...base, sponsor: "x".repeat(257) }]), "INVALID_ID");
    assert.equal(run([{ ...base, exchangePlatform: base.sponsor }]), "SELF_OBLIGATION");
    assert.equal(run([{ ...base, confirmedAt: window.to }]), "OUTSIDE_WINDOW");
    assert.equal(run([{ ...base, confirmedAt: window.from - 1n }]), "OUTSIDE_WINDOW");
    assert.equal(run([], agreement, { ...window, to: window.from }), "INVALID_WINDOW");
    assert.equal(run([], agreement, { ...window, windowId: -1n }), "INVALID_WINDOW");
    assert.equal(run([], { ...agreement, id: "other" }), "AGREEMENT_MISMATCH");
    assert.equal(run([], { ...agreement, rates: [...agreement.rates, agreement.rates[0]!] }), "DUPLICATE_RATE");
    assert.equal(run([], { ...agreement, rates: [{ creditClass: "x", numerator: 1n, denominator: 0n }] }), "INVALID_RATE");
    assert.equal(run([], { ...agreement, rates: [{ creditClass: "x", numerator: 0n, denominator: 1n }] }), "INVALID_RATE");
    assert.equal(run([{ ...base, credits: 1n << 128n }]), "AMOUNT_OVERFLOW");
  });
  it("checkSettlement refuses the same input", () => {
    const b = recomputeSettlement(window, example, agreement);
    assert.equal(
      code(() => checkSettlement(b, window, [...example, example[0]!], agreement)),
      "DUPLICATE_REDEMPTION",
    );
  });
});
