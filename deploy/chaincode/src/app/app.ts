/**
 * `ShanduApp`: the one-time initialisation of the 善度 application and the views of its alliance registry
 * and credits.
 *
 * Initialisation is attack surface (DESIGN.md §7), so it is guarded as the inbox's is: only a client of the
 * MSP in `SHANDU_INITIALISER_MSP` (env.ts), only once, and only after the inbox was initialised (the
 * application takes its chain id from the inbox's configuration, so the two cannot disagree). It fixes the
 * alliance governance sources and the peers; after it, nothing changes except by attested messages. The
 * inbox's own configuration is not extended: the application keeps its configuration in its own key space,
 * where its recipients can read it while a message runs.
 */
import { bytesEqual, toHex } from "@shandu/proofs";
import { Contract } from "fabric-contract-api";
import { array, hexBytes, object, parseJsonObject, readConfig, u64 } from "../config.ts";
import { type ChaincodeEnvironment, chaincodeEnvironment } from "../env.ts";
import { ChaincodeError } from "../errors.ts";
import { clientSender, type ShanduContext, transaction } from "../state.ts";
import { classSponsor, hasRole, laneLimit, measurerCommittee } from "./alliance.ts";
import {
  APP_SENDER,
  appState,
  CONFIG_KEY,
  clientAccount,
  isGovernanceSource,
  readAppConfig,
  rejected,
  type StoredAppConfig,
  settlementState,
} from "./common.ts";
import { creditAccountJson, creditsOf, issuedBySponsor } from "./credits.ts";

export interface ShanduAppOptions {
  /** Who may initialise. Defaults to the process environment (env.ts). */
  environment?: ChaincodeEnvironment;
}

/** A peer list entry: a chain other than this one and 0, a recipient of 1–64 bytes, no chain twice. */
function peers(v: unknown, path: string, chainId: bigint): [bigint, Uint8Array][] {
  const out: [bigint, Uint8Array][] = [];
  for (const [i, e] of array(v ?? [], path, 1024).entries()) {
    const o = object(e, `${path}[${i}]`);
    const peerChain = u64(o.chainId, `${path}[${i}].chainId`);
    const recipient = hexBytes(o.recipient, `${path}[${i}].recipient`, { maxLength: 1 << 16 });
    if (peerChain === 0n || peerChain === chainId || recipient.length === 0 || recipient.length > 64) {
      throw rejected("INVALID_PEER", "a peer is on chain 0 or this chain, or its recipient is empty or longer than 64 bytes", {
        index: i,
        chainId: peerChain,
      });
    }
    if (out.some(([c]) => c === peerChain)) throw rejected("DUPLICATE_PEER", "a chain has one peer", { chainId: peerChain });
    out.push([peerChain, recipient]);
  }
  return out;
}

export class ShanduApp extends Contract {
  readonly #environment: ChaincodeEnvironment;

  constructor(options?: ShanduAppOptions) {
    super("ShanduApp");
    this.#environment = options?.environment ?? chaincodeEnvironment();
  }

  /**
   * Fixes the application's configuration, once. `configJson`:
   * `{"governance": [{"chainId", "sender": "0x…"}], "redemptionPeers": [{"chainId", "recipient": "0x…"}],
   * "settlementPeers": [{"chainId", "recipient": "0x…"}], "refundMarginSeconds": "<u64>"}`.
   * Refusals: `INITIALISER_NOT_CONFIGURED`, `NOT_AUTHORISED`, `NOT_INITIALISED` (the inbox first),
   * `ALREADY_INITIALISED`, `SCHEMA`; the EVM constructors' `NO_GOVERNANCE_SOURCE`,
   * `INVALID_GOVERNANCE_SOURCE`, `DUPLICATE_GOVERNANCE_SOURCE`, `INVALID_PEER`, `DUPLICATE_PEER`; and
   * `INVALID_PEER` for a redemption peer that is also a governance source (their messages reach the same
   * recipient here and are told apart by sender).
   */
  async initialise(ctx: ShanduContext, configJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const allowed = this.#environment.initialiserMsp;
      if (!allowed) throw new ChaincodeError("INITIALISER_NOT_CONFIGURED", "no MSP may initialise: SHANDU_INITIALISER_MSP is not set");
      const msp = ctx.clientIdentity.getMSPID();
      if (msp !== allowed)
        throw new ChaincodeError("NOT_AUTHORISED", "only a client of the initialiser MSP may initialise", { facts: { msp, allowed } });
      const caller = clientSender(ctx);
      const pinned = this.#environment.initialiserSender;
      if (pinned !== undefined && !bytesEqual(caller, pinned)) {
        throw new ChaincodeError("NOT_AUTHORISED", "only the pinned initialiser identity may initialise (SHANDU_INITIALISER_SENDER)", {
          facts: { msp },
        });
      }
      const { chainId } = await readConfig(state);
      const s = appState(state);
      if (await s.get(CONFIG_KEY)) throw new ChaincodeError("ALREADY_INITIALISED", "the 善度 application was initialised before");

      const o = parseJsonObject(configJson, "config");
      const governance: [bigint, Uint8Array][] = [];
      const sources = array(o.governance ?? [], "config.governance", 1024);
      if (sources.length === 0) throw rejected("NO_GOVERNANCE_SOURCE", "the alliance registry needs a governance source");
      for (const [i, g] of sources.entries()) {
        const e = object(g, `config.governance[${i}]`);
        const source = u64(e.chainId, `config.governance[${i}].chainId`);
        const sender = hexBytes(e.sender, `config.governance[${i}].sender`, { maxLength: 1 << 16 });
        if (source === 0n || source === chainId || sender.length === 0 || sender.length > 64) {
          throw rejected(
            "INVALID_GOVERNANCE_SOURCE",
            "a governance source is on chain 0 or this chain, or its sender is empty or longer than 64 bytes",
            {
              index: i,
            },
          );
        }
        if (governance.some(([c, v]) => c === source && toHex(v) === toHex(sender))) {
          throw rejected("DUPLICATE_GOVERNANCE_SOURCE", "a governance source is listed twice", { index: i });
        }
        governance.push([source, sender]);
      }
      const redemptionPeers = peers(o.redemptionPeers, "config.redemptionPeers", chainId);
      const settlementPeers = peers(o.settlementPeers, "config.settlementPeers", chainId);
      const refundMarginSeconds = u64(o.refundMarginSeconds, "config.refundMarginSeconds");
      for (const [c, recipient] of redemptionPeers) {
        if (governance.some(([g, v]) => g === c && toHex(v) === toHex(recipient))) {
          throw rejected("INVALID_PEER", "a redemption peer is also a governance source", { chainId: c });
        }
      }
      const stored: StoredAppConfig = {
        chainId: chainId.toString(),
        governance: governance.map(([c, v]) => [c.toString(), toHex(v)]),
        redemptionPeers: Object.fromEntries(redemptionPeers.map(([c, v]) => [c.toString(), toHex(v)])),
        settlementPeers: Object.fromEntries(settlementPeers.map(([c, v]) => [c.toString(), toHex(v)])),
        refundMarginSeconds: refundMarginSeconds.toString(),
        initialisedBy: toHex(caller),
      };
      s.putJson(CONFIG_KEY, stored);
      settlementState(state).putJson(CONFIG_KEY, stored);
      return JSON.stringify({ chainId: chainId.toString(), sender: toHex(APP_SENDER) });
    });
  }

  /** The application's configuration (canonical JSON). `NOT_INITIALISED` before `initialise`. */
  async configuration(ctx: ShanduContext): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      await readAppConfig(s);
      return JSON.stringify(await s.getJson<StoredAppConfig>(CONFIG_KEY));
    });
  }

  /** The calling client's 20-byte account (hex): what roles are granted to and redemptions name. */
  async accountOf(ctx: ShanduContext): Promise<string> {
    return toHex(clientAccount(ctx));
  }

  /** Whether governance messages from `senderHex` on `sourceChainId` are obeyed: `"true"` / `"false"`. */
  async isGovernanceSource(ctx: ShanduContext, sourceChainId: string, senderHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const config = await readAppConfig(appState(state));
      return String(isGovernanceSource(config, u64(sourceChainId, "sourceChainId"), hexBytes(senderHex, "sender", { maxLength: 64 })));
    });
  }

  /** Whether `accountHex` holds `role` (1–5) on chain `roleChainId`: `"true"` / `"false"`. */
  async hasRole(ctx: ShanduContext, role: string, roleChainId: string, accountHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const r = Number(u64(role, "role"));
      return String(await hasRole(appState(state), r, u64(roleChainId, "roleChainId"), hexBytes(accountHex, "account", { length: 20 })));
    });
  }

  /** `{open, paused, capacity, refillPerSecond}` of the lane to `laneChainId`. */
  async laneLimit(ctx: ShanduContext, laneChainId: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const l = await laneLimit(appState(state), u64(laneChainId, "laneChainId"));
      return JSON.stringify({
        open: l.open,
        paused: l.paused,
        capacity: l.capacity.toString(),
        refillPerSecond: l.refillPerSecond.toString(),
      });
    });
  }

  /** The approved measurer committee's set hash (32 zero bytes when none). */
  async measurerCommittee(ctx: ShanduContext): Promise<string> {
    return transaction(ctx, async (state) => toHex(await measurerCommittee(appState(state))));
  }

  /** The sponsor of `creditClassHex` (20 zero bytes when none). */
  async classSponsor(ctx: ShanduContext, creditClassHex: string): Promise<string> {
    return transaction(ctx, async (state) =>
      toHex(await classSponsor(appState(state), hexBytes(creditClassHex, "creditClass", { length: 32 }))),
    );
  }

  /** `{balance, locked, burned, issued}` of `accountHex` in `creditClassHex`. */
  async credits(ctx: ShanduContext, accountHex: string, creditClassHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const a = await creditsOf(
        appState(state),
        hexBytes(accountHex, "account", { length: 20 }),
        hexBytes(creditClassHex, "creditClass", { length: 32 }),
      );
      return JSON.stringify(creditAccountJson(a));
    });
  }

  /** What `sponsorHex` committed to fund for `creditClassHex`, decimal. */
  async issuedBySponsor(ctx: ShanduContext, sponsorHex: string, creditClassHex: string): Promise<string> {
    return transaction(ctx, async (state) =>
      (
        await issuedBySponsor(
          appState(state),
          hexBytes(sponsorHex, "sponsor", { length: 20 }),
          hexBytes(creditClassHex, "creditClass", { length: 32 }),
        )
      ).toString(),
    );
  }
}
