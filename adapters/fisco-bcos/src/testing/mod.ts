/**
 * `@shandu/adapter-fisco-bcos/testing` — test doubles of a FISCO BCOS 3.x node's JSON-RPC:
 * `startFakeFiscoNode` serves blocks a test makes up; `startFiscoTestServer` admits signed transactions
 * as a node does and executes them on anvil. For tests only.
 */
export { type FakeFiscoNode, type FakeFiscoNodeOptions, startFakeFiscoNode } from "./fakeFiscoNode.ts";
export {
  type ContainerRuntime,
  FISCO2_IMAGE,
  FISCO2_JSONRPC_PORT,
  FISCO3_CHAIN_ID,
  FISCO3_GROUP,
  FISCO3_IMAGE,
  FISCO3_RPC_PORT,
  type FiscoContainer,
  type FiscoNode2,
  type FiscoNode2Options,
  type FiscoNode3,
  type FiscoNode3Options,
  probeContainerRuntime,
  type SdkCertificates,
  skipWithoutRuntime,
  startFiscoNode2,
  startFiscoNode3,
  writeFiscoNode2Dir,
  writeFiscoNode3Dir,
} from "./fiscoContainer.ts";
export {
  type ExecutedTransaction,
  FISCO_BLOCK_LIMIT_WINDOW,
  type FiscoTestBlock,
  type FiscoTestServer,
  FiscoTestServerError,
  type FiscoTestServerErrorCode,
  type FiscoTestServerOptions,
  startFiscoTestServer,
  type TestTransaction,
} from "./fiscoTestServer.ts";
export { JsonRpcFault, type TestTlsOptions } from "./jsonRpcServer.ts";
