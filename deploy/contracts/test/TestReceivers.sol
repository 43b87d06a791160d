// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduReceiver} from "../interfaces/IShandu.sol";

/// @notice Test double: a recipient that does nothing (measures the inbox alone).
contract NoopReceiver is IShanduReceiver {
    function shanduReceive(uint64, bytes calldata, uint64, bytes calldata) external {}
}

/// @notice Test double: a recipient that records every call it receives.
contract RecordingReceiver is IShanduReceiver {
    struct Call {
        uint64 sourceChainId;
        bytes sender;
        uint64 nonce;
        bytes payload;
    }

    Call[] public calls;
    event Received(uint64 sourceChainId, uint64 nonce, bytes payload);

    function shanduReceive(uint64 sourceChainId, bytes calldata sender, uint64 nonce, bytes calldata payload) external {
        calls.push(Call(sourceChainId, sender, nonce, payload));
        emit Received(sourceChainId, nonce, payload);
    }

    function callCount() external view returns (uint256) {
        return calls.length;
    }
}

/// @notice Test double: a recipient that fails until it is told to accept (exercises `retry`).
contract FlakyReceiver is IShanduReceiver {
    bool public accept;
    uint256 public received;

    function setAccept(bool a) external {
        accept = a;
    }

    function shanduReceive(uint64, bytes calldata, uint64, bytes calldata) external {
        require(accept, "not accepting");
        received++;
    }
}
