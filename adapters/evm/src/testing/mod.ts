/**
 * `@shandu/adapter-evm/testing` — a real anvil node per test (`startAnvil`) and deployment of the compiled
 * Shandu contracts onto it (`deployContract`). For integration tests (`*.int.test.ts`) only.
 */
export {
  ANVIL_ACCOUNT_COUNT,
  ANVIL_DEFAULT_CHAIN_ID,
  ANVIL_MNEMONIC,
  AnvilError,
  type AnvilErrorCode,
  type AnvilHardfork,
  type AnvilNode,
  anvilAccounts,
  anvilBinary,
  type StartAnvilOptions,
  startAnvil,
} from "./anvil.ts";
export { deployContract } from "./deployContract.ts";
