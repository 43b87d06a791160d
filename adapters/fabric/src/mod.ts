/**
 * `@shandu/adapter-fabric` — the Hyperledger Fabric chain adapter: chaincode events from committed blocks,
 * deliveries to the inbox chaincode through the Fabric Gateway, and `"fabric-endorsement"` source
 * evidence. Test helpers (a Fabric gateway test double) are in `@shandu/adapter-fabric/testing`.
 */
export {
  adapterErrorOf,
  deliveryJson,
  FabricAdapter,
  type FabricAdapterConfig,
  fabricAdapterModule,
  fabricConfigSchema,
} from "./adapter.ts";
