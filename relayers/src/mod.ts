/** `@shandu/relayers` — delivers attested batches from the queue to destination chains. */
export { Relayer, type RelayerEvent, type RelayerOptions, relayerDurable } from "./relayer.ts";
export { type RelayerHandle, startRelayer } from "./runtime.ts";
