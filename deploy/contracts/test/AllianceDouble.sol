// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduAlliance} from "../app/IShanduAlliance.sol";

/// @notice Test double of the alliance registry: every value is set directly by whoever calls the setters,
/// with no governance message and no check. For tests of the contracts that read the registry only; never
/// deploy it anywhere real.
contract AllianceDouble is IShanduAlliance {
    struct Lane {
        bool open;
        bool paused;
        uint128 capacity;
        uint128 refillPerSecond;
    }

    uint64 public immutable chainId;
    bytes32 public measurerCommittee;
    mapping(uint8 role => mapping(uint64 roleChainId => mapping(address account => bool))) private _roles;
    mapping(bytes32 creditClass => address) public classSponsor;
    mapping(uint64 laneChainId => Lane) private _lanes;

    constructor(uint64 chainId_) {
        chainId = chainId_;
    }

    function hasRole(uint8 role, uint64 roleChainId, address account) external view returns (bool) {
        return _roles[role][roleChainId][account];
    }

    function laneLimit(uint64 laneChainId) external view returns (bool, bool, uint128, uint128) {
        Lane memory l = _lanes[laneChainId];
        return (l.open, l.paused, l.capacity, l.refillPerSecond);
    }

    function setRole(uint8 role, uint64 roleChainId, address account, bool granted) external {
        _roles[role][roleChainId][account] = granted;
    }

    function setMeasurerCommittee(bytes32 committeeSetHash) external {
        measurerCommittee = committeeSetHash;
    }

    function setClassSponsor(bytes32 creditClass, address sponsor) external {
        classSponsor[creditClass] = sponsor;
    }

    function setLaneLimit(uint64 laneChainId, bool open, bool paused, uint128 capacity, uint128 refillPerSecond) external {
        _lanes[laneChainId] = Lane(open, paused, capacity, refillPerSecond);
    }
}
