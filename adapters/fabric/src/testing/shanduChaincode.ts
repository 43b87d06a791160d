/**
 * A {@link ChaincodeRunner} that runs the real Shandu chaincode (`@shandu/chaincode`: `ShanduOutbox`, the
 * default contract; `ShanduInbox` as the deployed chaincode has it, delivering to the 善度 application's
 * recipients unless told otherwise; and the application's contracts `ShanduApp`, `ShanduRedemption`,
 * `ShanduDeeds` and `ShanduSettlement`) inside {@link FabricTestPeer}. It stands in for Fabric's chaincode
 * runtime, not for the peer: functions are looked up as `Contract:function` (no prefix → the outbox)
 * among the contract's own transaction functions, string arguments are passed as fabric-contract-api
 * passes `string` parameters, and a thrown error becomes a 500 response carrying its message (which
 * starts with the chaincode's error code, as a Fabric client receives it). It does not go through
 * fabric-shim's dispatcher or its metadata checks.
 */
import { appContracts, type RecipientRegistry, ShanduAppInbox, type ShanduContext, ShanduOutbox } from "@shandu/chaincode";
import type { ChaincodeResult, ChaincodeRunner } from "./testPeer.ts";

export interface ShanduChaincodeOptions {
  /**
   * The MSP whose clients may call `ShanduInbox:initialise` and `ShanduApp:initialise`
   * (`SHANDU_INITIALISER_MSP` on a real peer).
   */
  initialiserMsp?: string;
  /** The inbox's recipients; the application's (`shandu`, `settlement`) when not given. */
  recipients?: RecipientRegistry;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

type TxFunction = (ctx: ShanduContext, ...args: string[]) => Promise<string>;

/** The Shandu chaincode as a test-peer runner. */
export function shanduChaincodeRunner(options: ShanduChaincodeOptions = {}): ChaincodeRunner {
  const environment = { initialiserMsp: options.initialiserMsp };
  const outbox = new ShanduOutbox();
  const inbox = new ShanduAppInbox({ environment, ...(options.recipients ? { recipients: options.recipients } : {}) });
  const contracts = new Map<string, object>([
    ["ShanduOutbox", outbox],
    ["ShanduInbox", inbox],
    // Only `ShanduApp` reads the environment; the other application contracts take no options.
    ...appContracts.map((C) => {
      const contract = new C({ environment });
      return [contract.getName(), contract] as [string, object];
    }),
  ]);
  return async (inv): Promise<ChaincodeResult> => {
    const [contractName, fnName] = inv.fn.includes(":") ? (inv.fn.split(":", 2) as [string, string]) : ["ShanduOutbox", inv.fn];
    const contract = contracts.get(contractName);
    const own = contract ? Object.getOwnPropertyNames(Object.getPrototypeOf(contract)) : [];
    if (!contract || fnName === "constructor" || !own.includes(fnName)) {
      return {
        status: 500,
        message: `You've asked to invoke a function that does not exist: ${inv.fn}`,
        payload: new Uint8Array(0),
        writes: [],
      };
    }
    const writes = new Map<string, Uint8Array | null>();
    let event: { name: string; payload: Uint8Array } | undefined;
    const s = inv.timestamp.seconds;
    const ctx: ShanduContext = {
      stub: {
        // Like a peer: the committed value, never this transaction's own writes.
        getState: async (key) => inv.getState(key) ?? new Uint8Array(0),
        putState: async (key, value) => {
          writes.set(key, Uint8Array.from(value));
        },
        deleteState: async (key) => {
          writes.set(key, null);
        },
        setEvent: (name, payload) => {
          event = { name, payload: Uint8Array.from(payload) };
        },
        getTxID: () => inv.txId,
        getTxTimestamp: () => ({
          seconds: { low: Number(s & 0xffff_ffffn), high: Number(s >> 32n), toString: () => s.toString() },
          nanos: inv.timestamp.nanos,
        }),
      },
      clientIdentity: {
        getMSPID: () => inv.creator.mspId,
        getIDBytes: () => enc.encode(inv.creator.certificatePem),
      },
    };
    try {
      const fn = (contract as Record<string, TxFunction>)[fnName]!;
      const answer = await fn.call(contract, ctx, ...inv.args.map((a) => dec.decode(a)));
      return {
        status: 200,
        payload: enc.encode(answer ?? ""),
        ...(event ? { event } : {}),
        writes: [...writes].map(([key, value]) => ({ key, value })),
      };
    } catch (e) {
      return { status: 500, message: e instanceof Error ? e.message : String(e), payload: new Uint8Array(0), writes: [] };
    }
  };
}
