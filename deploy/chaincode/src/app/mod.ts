/**
 * The 善度 application in the chaincode: its recipients, its contracts, and the inbox that delivers to them.
 *
 * Fabric constructs each contract without arguments and finds its transactions on the class's own
 * prototype only, so {@link ShanduAppInbox} (the inbox with the application's recipients) restates each
 * inbox transaction; `mod.test.ts` checks that the list matches.
 */
import { ShanduInbox, type ShanduInboxOptions } from "../inbox.ts";
import type { RecipientHandler, RecipientRegistry } from "../recipients.ts";
import type { ShanduContext } from "../state.ts";
import { receiveGovernance } from "./alliance.ts";
import { ShanduApp } from "./app.ts";
import { APP_RECIPIENT, isGovernanceSource, readAppConfig, SETTLEMENT_RECIPIENT } from "./common.ts";
import { ShanduDeeds } from "./deeds.ts";
import { receiveRedemption, ShanduRedemption } from "./redemption.ts";
import { receiveSettlementRoot, ShanduSettlement } from "./settlement.ts";

/**
 * The application's recipient: a message from an alliance governance source is a governance payload;
 * anything else must come from the redemption peer of its source chain (`UNKNOWN_PEER`, `UNKNOWN_SENDER`).
 */
export const appRecipient: RecipientHandler = async (call, state) => {
  const config = await readAppConfig(state);
  if (isGovernanceSource(config, call.sourceChainId, call.sender)) await receiveGovernance(state, config, call);
  else await receiveRedemption(state, config, call);
};

/** The settlement's recipient: a root from the settlement peer of its source chain. */
export const settlementRecipient: RecipientHandler = async (call, state) => {
  await receiveSettlementRoot(state, await readAppConfig(state), call);
};

/** The recipients of the deployed chaincode. */
export function appRecipients(): RecipientRegistry {
  return new Map([
    [APP_RECIPIENT, appRecipient],
    [SETTLEMENT_RECIPIENT, settlementRecipient],
  ]);
}

/** `ShanduInbox` delivering to {@link appRecipients} unless told otherwise. */
export class ShanduAppInbox extends ShanduInbox {
  constructor(options?: ShanduInboxOptions) {
    super({ ...options, recipients: options?.recipients ?? appRecipients() });
  }

  override initialise(ctx: ShanduContext, configJson: string): Promise<string> {
    return super.initialise(ctx, configJson);
  }
  override rotate(ctx: ShanduContext, rotationJson: string): Promise<string> {
    return super.rotate(ctx, rotationJson);
  }
  override deliver(ctx: ShanduContext, deliveryJson: string): Promise<string> {
    return super.deliver(ctx, deliveryJson);
  }
  override retry(ctx: ShanduContext, messageHex: string): Promise<string> {
    return super.retry(ctx, messageHex);
  }
  override checkAttestation(ctx: ShanduContext, headerJson: string, attestationJson: string): Promise<string> {
    return super.checkAttestation(ctx, headerJson, attestationJson);
  }
  override isDelivered(ctx: ShanduContext, sourceChainId: string, nonce: string): Promise<string> {
    return super.isDelivered(ctx, sourceChainId, nonce);
  }
  override lane(ctx: ShanduContext, sourceChainId: string): Promise<string> {
    return super.lane(ctx, sourceChainId);
  }
  override committee(ctx: ShanduContext, epoch: string): Promise<string> {
    return super.committee(ctx, epoch);
  }
  override latestEpoch(ctx: ShanduContext): Promise<string> {
    return super.latestEpoch(ctx);
  }
  override epochStatus(ctx: ShanduContext, epoch: string, nowSeconds: string): Promise<string> {
    return super.epochStatus(ctx, epoch, nowSeconds);
  }
  override configuration(ctx: ShanduContext): Promise<string> {
    return super.configuration(ctx);
  }
}

export { ShanduApp, ShanduDeeds, ShanduRedemption, ShanduSettlement };

/** The application's contracts, as Fabric instantiates them. */
export const appContracts = [ShanduApp, ShanduRedemption, ShanduDeeds, ShanduSettlement];
