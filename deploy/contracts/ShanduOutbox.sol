// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduOutbox, ShanduRejected} from "./interfaces/IShandu.sol";
import {MessageCodec} from "./lib/MessageCodec.sol";

/// @title Shandu outbox
/// @notice Where applications on this chain send messages to other chains. It assigns the lane nonce and
/// emits the canonical message body; the committee attests what it emitted. It holds no funds and has no
/// owner: the chain id and the governor are fixed at deployment.
contract ShanduOutbox is IShanduOutbox {
    uint64 public immutable chainId;
    /// @notice The only sender of governance messages (lane pause/resume, registrations) from this chain.
    address public immutable governor;

    /// @notice The nonce the next message to `destinationChainId` will get: lanes are numbered from 0.
    mapping(uint64 destinationChainId => uint64) public nextNonce;

    constructor(uint64 chainId_, address governor_) {
        if (chainId_ == 0) revert ShanduRejected("INVALID_CHAIN_ID");
        if (governor_ == address(0)) revert ShanduRejected("INVALID_GOVERNOR");
        chainId = chainId_;
        governor = governor_;
    }

    function send(uint64 destinationChainId, bytes calldata recipient, bytes calldata payload) external returns (uint64) {
        return _send(destinationChainId, MessageCodec.KIND_APP, recipient, payload);
    }

    function sendGovernance(uint64 destinationChainId, bytes calldata payload) external returns (uint64) {
        if (msg.sender != governor) revert ShanduRejected("NOT_GOVERNOR");
        return _send(destinationChainId, MessageCodec.KIND_GOVERNANCE, msg.data[0:0], payload);
    }

    function _send(uint64 destinationChainId, uint8 kind, bytes calldata recipient, bytes calldata payload) private returns (uint64 nonce) {
        if (destinationChainId == chainId || destinationChainId == 0) revert ShanduRejected("INVALID_DESTINATION");
        nonce = nextNonce[destinationChainId];
        nextNonce[destinationChainId] = nonce + 1;
        bytes memory b = MessageCodec.body(chainId, destinationChainId, nonce, kind, abi.encodePacked(msg.sender), recipient, payload);
        emit MessageSent(destinationChainId, nonce, b);
    }
}
