/**
 * `@shandu/chaincode/testing`: test doubles for running the chaincode without a Fabric peer — an
 * in-memory ledger and `ChaincodeStub` (a transaction's writes are kept only if it succeeds), test client
 * identities, and recording / failing recipients.
 */

export { org1Admin, org1User, org2User, type TestIdentity } from "./identities.ts";
export { failingRecipient, recordingRecipient } from "./recorder.ts";
export {
  FakeChaincodeStub,
  type FakeEvent,
  FakeLedger,
  type FakeTransactionOptions,
  type FakeTransactionResult,
  fakeContext,
} from "./stub.ts";
