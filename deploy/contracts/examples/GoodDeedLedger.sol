// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IShanduReceiver} from "../interfaces/IShandu.sol";

/// @title Example 善度 application: recognises good deeds recorded on other alliance chains.
/// @notice Accepts calls only from the Shandu inbox it was deployed with (a cross-chain call can reach
///         nothing else here). Counts how often each (source chain, nonce) arrived, so a test or an
///         auditor can check that every message was executed exactly once.
contract GoodDeedLedger is IShanduReceiver {
    address public immutable inbox;
    uint256 public total;
    mapping(uint64 => uint256) public fromChain;
    mapping(uint64 => mapping(uint64 => uint256)) public timesReceived;

    event DeedRecognised(uint64 indexed sourceChainId, uint64 indexed nonce, bytes sender, bytes payload);

    error NotInbox(address caller);

    constructor(address inbox_) {
        inbox = inbox_;
    }

    function shanduReceive(uint64 sourceChainId, bytes calldata sender, uint64 nonce, bytes calldata payload) external {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        total += 1;
        fromChain[sourceChainId] += 1;
        timesReceived[sourceChainId][nonce] += 1;
        emit DeedRecognised(sourceChainId, nonce, sender, payload);
    }
}
