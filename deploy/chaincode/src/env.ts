/**
 * The only file of the chaincode that reads `process.env`. A Fabric peer (or the chaincode-as-a-service
 * container) sets these variables for the chaincode process.
 *
 * - `SHANDU_INITIALISER_MSP`: the MSP id whose clients may call `ShanduInbox:initialise`. Unset or empty,
 *   nobody may initialise (`INITIALISER_NOT_CONFIGURED`): the chaincode fails closed.
 * - `SHANDU_INITIALISER_SENDER` (recommended): the 32-byte sender digest (hex) of the one identity that may
 *   initialise (`ShanduOutbox:senderOf` gives it). Without it, any client of the MSP (an end user the
 *   organisation enrolled, too) could initialise first and choose the genesis committee and governance.
 */
export interface ChaincodeEnvironment {
  /** MSP id allowed to initialise the chaincode; undefined when not configured. */
  initialiserMsp: string | undefined;
  /** The one identity (sender digest) allowed to initialise, when pinned; undefined: any client of the MSP. */
  initialiserSender?: Uint8Array | undefined;
}

export function chaincodeEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): ChaincodeEnvironment {
  const msp = env.SHANDU_INITIALISER_MSP?.trim();
  const sender = env.SHANDU_INITIALISER_SENDER?.trim().replace(/^0x/, "").toLowerCase();
  if (sender && !/^[0-9a-f]{64}$/.test(sender)) {
    // Fail closed: a mistyped pin must not fall back to "any client of the MSP".
    return { initialiserMsp: undefined };
  }
  return {
    initialiserMsp: msp ? msp : undefined,
    initialiserSender: sender ? Uint8Array.from(sender.match(/../g)!, (h) => Number.parseInt(h, 16)) : undefined,
  };
}
