/**
 * The chaincode events of one committed Fabric block, read as a peer's gateway reads them for its
 * `ChaincodeEvents` service: for every transaction the committing peer marked `VALID` in the block's
 * `TRANSACTIONS_FILTER` metadata, of type `ENDORSER_TRANSACTION`, the `ChaincodeEvent` of its endorsed
 * action, when that event was set by `chaincode`. Invalid transactions (e.g. `MVCC_READ_CONFLICT`) are
 * skipped: their events never happened.
 */

import { common, peer } from "@hyperledger/fabric-protos";
import { AdapterError } from "@shandu/adapter-core";

/** One chaincode event, in block order. */
export interface BlockChaincodeEvent {
  /** Fabric's transaction id (64 hex digits). */
  txId: string;
  eventName: string;
  payload: Uint8Array;
}

/**
 * Input: a block as the peer's Deliver service sent it (untrusted bytes from the peer the adapter is
 * configured with). Throws `AdapterError` `RPC_UNAVAILABLE` when the block has no header or
 * transaction filter, or a transaction marked `VALID` does not parse: a peer never commits one, so
 * the answer is broken and the watch must stop rather than skip a message.
 */
export function chaincodeEventsOfBlock(block: common.Block, chaincode: string): { blockNumber: bigint; events: BlockChaincodeEvent[] } {
  const header = block.getHeader();
  if (!header) throw new AdapterError("RPC_UNAVAILABLE", "the peer sent a block without a header");
  const blockNumber = BigInt(header.getNumber());
  const data = block.getData()?.getDataList_asU8() ?? [];
  const codes = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
  if (!codes || codes.length !== data.length) {
    throw new AdapterError("RPC_UNAVAILABLE", "the peer sent a block whose transaction filter does not match its transactions", {
      facts: { blockNumber, transactions: data.length, filterLength: codes?.length ?? 0 },
    });
  }
  const events: BlockChaincodeEvent[] = [];
  for (const [i, raw] of data.entries()) {
    if (codes[i] !== peer.TxValidationCode.VALID) continue;
    const found: peer.ChaincodeEvent[] = [];
    let txId: string;
    try {
      const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(raw).getPayload_asU8());
      const channelHeader = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
      if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) continue;
      txId = channelHeader.getTxId();
      for (const action of peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()) {
        const endorsed = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8()).getAction()!;
        const prp = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
        const bytes = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()).getEvents_asU8();
        if (bytes.length) found.push(peer.ChaincodeEvent.deserializeBinary(bytes));
      }
    } catch (cause) {
      throw new AdapterError("RPC_UNAVAILABLE", "the peer sent a block with a valid transaction that does not parse", {
        facts: { blockNumber, transactionIndex: i },
        cause,
      });
    }
    for (const event of found) {
      if (event.getChaincodeId() === chaincode) events.push({ txId, eventName: event.getEventName(), payload: event.getPayload_asU8() });
    }
  }
  return { blockNumber, events };
}
