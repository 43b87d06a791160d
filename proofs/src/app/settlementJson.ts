/**
 * JSON forms of the settlement structures (docs/settlement.md §6): the alliance agreement, a window and a
 * settlement batch, as the clearing provider publishes them and an auditor reads them. Amounts and u64
 * quantities are decimal strings, bytes `0x` hex. Readers check shapes only (throwing `BundleError`
 * `SCHEMA` with the JSON path); whether a batch is *right* is {@link checkSettlement}'s question.
 */
import { toHex } from "../bytes.ts";
import { arr, hex, int, type Json, obj, schemaError, str, u64 } from "../json.ts";
import type {
  AllianceAgreement,
  GrossObligation,
  NetPosition,
  NettingMethod,
  Rate,
  SettlementBatch,
  SettlementHeader,
  SettlementLine,
  SettlementWindow,
} from "./settlement.ts";

export const SETTLEMENT_BATCH_FORMAT = "shandu.settlement-batch";

const MAX_ENTRIES = 1 << 16;

/** A non-negative (or, with `signed`, any) integer as a decimal string of at most 40 digits (128 bits fit). */
function big(v: unknown, path: string, signed = false): bigint {
  const re = signed ? /^-?(0|[1-9][0-9]{0,39})$/ : /^(0|[1-9][0-9]{0,39})$/;
  if (typeof v !== "string" || !re.test(v))
    throw schemaError(path, signed ? "an integer as a decimal string" : "a non-negative integer as a decimal string");
  return BigInt(v);
}

const text = (v: unknown, path: string) => str(v, path, 256);

export function agreementToJson(a: AllianceAgreement): Json {
  return {
    id: a.id,
    currency: a.currency,
    rates: a.rates.map((r) => ({
      creditClass: r.creditClass,
      ...(r.sponsor === undefined ? {} : { sponsor: r.sponsor }),
      numerator: r.numerator.toString(),
      denominator: r.denominator.toString(),
    })),
  };
}

export function agreementFromJson(v: unknown, path = "agreement"): AllianceAgreement {
  const o = obj(v, path);
  return {
    id: text(o.id, `${path}.id`),
    currency: text(o.currency, `${path}.currency`),
    rates: arr(o.rates, `${path}.rates`, MAX_ENTRIES).map((x, i): Rate => {
      const p = `${path}.rates[${i}]`;
      const r = obj(x, p);
      return {
        creditClass: text(r.creditClass, `${p}.creditClass`),
        ...(r.sponsor === undefined ? {} : { sponsor: text(r.sponsor, `${p}.sponsor`) }),
        numerator: big(r.numerator, `${p}.numerator`),
        denominator: big(r.denominator, `${p}.denominator`),
      };
    }),
  };
}

export function windowToJson(w: SettlementWindow): Json {
  return { allianceAgreementId: w.allianceAgreementId, windowId: w.windowId.toString(), from: w.from.toString(), to: w.to.toString() };
}

export function windowFromJson(v: unknown, path = "window"): SettlementWindow {
  const o = obj(v, path);
  return {
    allianceAgreementId: text(o.allianceAgreementId, `${path}.allianceAgreementId`),
    windowId: u64(o.windowId, `${path}.windowId`),
    from: u64(o.from, `${path}.from`),
    to: u64(o.to, `${path}.to`),
  };
}

function headerToJson(h: SettlementHeader): Json {
  return {
    version: h.version,
    allianceAgreementId: h.allianceAgreementId,
    windowId: h.windowId.toString(),
    from: h.from.toString(),
    to: h.to.toString(),
    currency: h.currency,
    redemptionCount: h.redemptionCount,
    redemptionsRoot: toHex(h.redemptionsRoot),
    obligationCount: h.obligationCount,
    grossTotal: h.grossTotal.toString(),
    roundingDenominator: h.roundingDenominator.toString(),
    roundedOff: h.roundedOff.toString(),
    positionCount: h.positionCount,
    nettingMethod: h.nettingMethod,
    lineCount: h.lineCount,
    netTotal: h.netTotal.toString(),
  };
}

const count = (v: unknown, path: string) => int(v, path, 0, 0xffff_ffff);

function method(v: unknown, path: string): NettingMethod {
  if (v !== "exact" && v !== "greedy") throw schemaError(path, '"exact" or "greedy"');
  return v;
}

function headerFromJson(v: unknown, path: string): SettlementHeader {
  const o = obj(v, path);
  return {
    version: int(o.version, `${path}.version`, 0, 255),
    allianceAgreementId: text(o.allianceAgreementId, `${path}.allianceAgreementId`),
    windowId: u64(o.windowId, `${path}.windowId`),
    from: u64(o.from, `${path}.from`),
    to: u64(o.to, `${path}.to`),
    currency: text(o.currency, `${path}.currency`),
    redemptionCount: count(o.redemptionCount, `${path}.redemptionCount`),
    redemptionsRoot: hex(o.redemptionsRoot, `${path}.redemptionsRoot`, 32),
    obligationCount: count(o.obligationCount, `${path}.obligationCount`),
    grossTotal: big(o.grossTotal, `${path}.grossTotal`),
    roundingDenominator: big(o.roundingDenominator, `${path}.roundingDenominator`),
    roundedOff: big(o.roundedOff, `${path}.roundedOff`),
    positionCount: count(o.positionCount, `${path}.positionCount`),
    nettingMethod: method(o.nettingMethod, `${path}.nettingMethod`),
    lineCount: count(o.lineCount, `${path}.lineCount`),
    netTotal: big(o.netTotal, `${path}.netTotal`),
  };
}

/** `{ "format": "shandu.settlement-batch", "version": 1, "header", "obligations", "positions", "lines", "treeRoot", "settlementRoot" }`. */
export function settlementBatchToJson(b: SettlementBatch): Json {
  return {
    format: SETTLEMENT_BATCH_FORMAT,
    version: 1,
    header: headerToJson(b.header),
    obligations: b.obligations.map((g) => ({
      payer: g.payer,
      payee: g.payee,
      amount: g.amount.toString(),
      redemptions: g.redemptions,
      roundedOff: g.roundedOff.toString(),
    })),
    positions: b.positions.map((p) => ({
      institution: p.institution,
      receives: p.receives.toString(),
      pays: p.pays.toString(),
      net: p.net.toString(),
    })),
    lines: b.lines.map((l) => ({
      windowId: l.windowId.toString(),
      index: l.index,
      payer: l.payer,
      payee: l.payee,
      amount: l.amount.toString(),
      currency: l.currency,
    })),
    treeRoot: toHex(b.treeRoot),
    settlementRoot: toHex(b.settlementRoot),
  };
}

export function settlementBatchFromJson(v: unknown, path = "batch"): SettlementBatch {
  const o = obj(v, path);
  if (o.format !== SETTLEMENT_BATCH_FORMAT) throw schemaError(`${path}.format`, `"${SETTLEMENT_BATCH_FORMAT}"`);
  if (o.version !== 1) throw schemaError(`${path}.version`, "1");
  return {
    header: headerFromJson(o.header, `${path}.header`),
    obligations: arr(o.obligations, `${path}.obligations`, MAX_ENTRIES).map((x, i): GrossObligation => {
      const p = `${path}.obligations[${i}]`;
      const g = obj(x, p);
      return {
        payer: text(g.payer, `${p}.payer`),
        payee: text(g.payee, `${p}.payee`),
        amount: big(g.amount, `${p}.amount`),
        redemptions: count(g.redemptions, `${p}.redemptions`),
        roundedOff: big(g.roundedOff, `${p}.roundedOff`),
      };
    }),
    positions: arr(o.positions, `${path}.positions`, MAX_ENTRIES).map((x, i): NetPosition => {
      const p = `${path}.positions[${i}]`;
      const n = obj(x, p);
      return {
        institution: text(n.institution, `${p}.institution`),
        receives: big(n.receives, `${p}.receives`),
        pays: big(n.pays, `${p}.pays`),
        net: big(n.net, `${p}.net`, true),
      };
    }),
    lines: arr(o.lines, `${path}.lines`, MAX_ENTRIES).map((x, i): SettlementLine => {
      const p = `${path}.lines[${i}]`;
      const l = obj(x, p);
      return {
        windowId: u64(l.windowId, `${p}.windowId`),
        index: count(l.index, `${p}.index`),
        payer: text(l.payer, `${p}.payer`),
        payee: text(l.payee, `${p}.payee`),
        amount: big(l.amount, `${p}.amount`),
        currency: text(l.currency, `${p}.currency`),
      };
    }),
    treeRoot: hex(o.treeRoot, `${path}.treeRoot`, 32),
    settlementRoot: hex(o.settlementRoot, `${path}.settlementRoot`, 32),
  };
}
