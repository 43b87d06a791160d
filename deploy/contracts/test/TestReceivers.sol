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

/// @notice Test double: a recipient that calls back into the inbox while it runs and keeps the answer.
contract ReentrantReceiver is IShanduReceiver {
    address public immutable inbox;
    bytes public replay;
    bytes public lastRevert;

    constructor(address inbox_) {
        inbox = inbox_;
    }

    function setReplay(bytes calldata message) external {
        replay = message;
    }

    function shanduReceive(uint64, bytes calldata, uint64, bytes calldata) external {
        (bool ok, bytes memory data) = inbox.call(abi.encodeWithSignature("retry(bytes)", replay));
        lastRevert = ok ? bytes("") : data;
    }
}

/// @notice Test double: a recipient that burns all the gas it is given.
contract GasBurner is IShanduReceiver {
    function shanduReceive(uint64, bytes calldata, uint64, bytes calldata) external pure {
        while (true) {}
    }
}
