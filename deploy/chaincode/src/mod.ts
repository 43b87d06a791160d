/**
 * `@shandu/chaincode` — the Shandu chaincode for Hyperledger Fabric: outbox, inbox and the 善度 application
 * (app/: alliance registry, credits, redemption, deed records, settlement).
 *
 * Fabric's node chaincode runtime (`fabric-chaincode-node start|server`) `require`s the package's `main`
 * and takes its `contracts` export; Node 24 loads this ES module through `require` directly. The first
 * contract is the default one (functions without a `Contract:` prefix go to the outbox).
 */
import { appContracts, ShanduAppInbox } from "./app/mod.ts";
import { ShanduOutbox } from "./outbox.ts";

export { appContracts, appRecipients, ShanduAppInbox } from "./app/mod.ts";
export { type ChaincodeEnvironment, chaincodeEnvironment } from "./env.ts";
export { ChaincodeError, codeOfMessage } from "./errors.ts";
export {
  BATCH_DELIVERED_EVENT,
  COMMITTEE_REGISTERED_EVENT,
  MESSAGE_RETRIED_EVENT,
  OUTCOME,
  ShanduInbox,
  type ShanduInboxOptions,
} from "./inbox.ts";
export { MESSAGE_EVENT, messageBody, type SentMessage, ShanduOutbox, sendMessage } from "./outbox.ts";
export {
  defaultRecipients,
  type RecipientCall,
  type RecipientHandler,
  type RecipientRegistry,
  type RecipientState,
} from "./recipients.ts";
export { canonicalJson, type ShanduContext, senderOfIdentity } from "./state.ts";

/** The contracts Fabric instantiates, default first. The inbox delivers to the application's recipients. */
export const contracts = [ShanduOutbox, ShanduAppInbox, ...appContracts];
