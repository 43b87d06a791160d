/**
 * The only file of the chaincode that reads `process.env`. A Fabric peer (or the chaincode-as-a-service
 * container) sets these variables for the chaincode process.
 *
 * - `SHANDU_INITIALISER_MSP`: the MSP id whose clients may call `ShanduInbox:initialise`. Unset or empty,
 *   nobody may initialise (`INITIALISER_NOT_CONFIGURED`): the chaincode fails closed.
 */
export interface ChaincodeEnvironment {
  /** MSP id allowed to initialise the chaincode; undefined when not configured. */
  initialiserMsp: string | undefined;
}

export function chaincodeEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): ChaincodeEnvironment {
  const msp = env.SHANDU_INITIALISER_MSP?.trim();
  return { initialiserMsp: msp ? msp : undefined };
}
