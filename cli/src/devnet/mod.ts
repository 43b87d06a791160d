/** `@shandu/cli/devnet` — the local alliance the devnet, the end-to-end tests and the benchmark start from. */
export {
  type Alliance,
  type AllianceOptions,
  CHAIN_IDS,
  CHAIN_NAMES,
  DEVNET_MEMBERS,
  DEVNET_POLICY,
  type DevnetChain,
  freePort,
  startAlliance,
} from "./alliance.ts";
export {
  type DevnetOptions,
  type DevnetSummary,
  type LaneSummary,
  percentile,
  type RunningDevnet,
  renderSummary,
  startDevnet,
} from "./run.ts";
export {
  AGREEMENT,
  type AppChain,
  type Application,
  b32,
  CREDIT_CLASS,
  deployApplication,
  formatFen,
  govern,
  hexBytes,
  PEOPLE,
  type Person,
  REFUND_MARGIN,
  runLowCarbonScenario,
  type ScenarioRedemption,
  type ScenarioResult,
  waitFor,
} from "./scenario.ts";
