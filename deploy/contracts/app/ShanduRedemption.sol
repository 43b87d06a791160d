// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduOutbox, IShanduReceiver, ShanduRejected} from "../interfaces/IShandu.sol";
import {GoodDeedCredits} from "./GoodDeedCredits.sol";
import {AllianceRoles, IShanduAlliance} from "./IShanduAlliance.sol";

/// @title Cross-alliance redemption of 善度 credits (docs/redemption.md)
/// @notice One contract per alliance chain, playing both sides of a redemption. On the user's chain (A) it
/// locks credits and sends `AUTHORISE` to the peer contract on the exchange platform's chain (B); on B the
/// platform confirms or rejects and the answer travels back; on A the credits are then burned or refunded.
/// Every transition is explicit, idempotent under duplicate delivery, and a lock is never both burned and
/// refunded. Messages travel through this chain's Shandu outbox and arrive from its inbox only; a message
/// is accepted only from the peer registered for its source chain. Platforms and the credit-volume limit of
/// each lane come from this chain's alliance registry (docs/governance.md), which only attested governance
/// changes; the contract itself is owner-less, everything else fixed at deployment. Refusals revert with
/// `ShanduRejected(code)`.
contract ShanduRedemption is IShanduReceiver {
    enum State {
        NONE,
        // on the user's chain (A)
        LOCKED,
        BURNED,
        REFUNDED,
        // on the exchange platform's chain (B)
        AUTHORISED,
        CONFIRMED,
        REJECTED,
        // on B again: A refunded after the timeout; the platform can no longer answer
        EXPIRED
    }

    struct Redemption {
        State state;
        /// @notice A: the refund was by `refundAfterTimeout`, not by a `REJECT`.
        bool refundedByTimeout;
        /// @notice A: a `CONFIRM` arrived after the refund (see `LateConfirmation`).
        bool lateConfirmation;
        /// @notice A: the destination chain; B: the source chain.
        uint64 peerChainId;
        /// @notice Seconds since the epoch; the platform may confirm while B's clock is at most this.
        uint64 deadline;
        address user;
        address platform;
        bytes32 creditClass;
        uint256 amount;
    }

    struct Peer {
        uint64 chainId;
        /// @notice The peer redemption contract as the Shandu message carries it (20 bytes on EVM chains).
        bytes redemption;
    }

    uint8 public constant PAYLOAD_VERSION = 1;
    uint8 public constant OP_AUTHORISE = 1;
    uint8 public constant OP_CONFIRM = 2;
    uint8 public constant OP_REJECT = 3;
    uint8 public constant OP_EXPIRED = 4;
    uint256 internal constant AUTHORISE_LENGTH = 178;
    uint256 internal constant CONFIRM_LENGTH = 34;
    uint256 internal constant REJECT_LENGTH = 66;
    uint256 internal constant EXPIRED_LENGTH = 34;

    /// @dev A's token bucket for the lane to one chain. `capacity` and `refillPerSecond` are the limit the
    /// bucket was last filled under: when the registry's limit differs, the bucket starts full again.
    struct Bucket {
        uint128 tokens;
        uint64 updatedAt;
        uint128 capacity;
        uint128 refillPerSecond;
    }

    uint64 public immutable chainId;
    IShanduOutbox public immutable outbox;
    address public immutable inbox;
    GoodDeedCredits public immutable credits;
    /// @notice This chain's alliance registry: platforms per chain and lane limits.
    IShanduAlliance public immutable alliance;
    /// @notice Seconds after a deadline before A may refund without an answer: must exceed the worst
    /// delivery delay from B to A (plus any clock difference between the chains).
    uint64 public immutable refundMargin;

    mapping(uint64 chainId => bytes) private _peers;
    mapping(address user => uint64) public nextUserNonce;
    mapping(bytes32 id => Redemption) private _redemptions;
    mapping(uint64 laneChainId => Bucket) private _buckets;

    /// @notice A: credits locked and `AUTHORISE` sent (`outboxNonce` on the lane to `destinationChainId`).
    event RedemptionRequested(
        bytes32 indexed id,
        address indexed user,
        uint64 destinationChainId,
        address platform,
        bytes32 creditClass,
        uint256 amount,
        uint64 deadline,
        uint64 outboxNonce
    );
    /// @notice B: a registered platform may now confirm or reject.
    event RedemptionAuthorised(
        bytes32 indexed id, uint64 sourceChainId, address indexed platform, address user, bytes32 creditClass, uint256 amount, uint64 deadline
    );
    /// @notice B: the platform confirmed; `CONFIRM` sent back.
    event RedemptionConfirmed(bytes32 indexed id, address indexed platform);
    /// @notice B: rejected by the platform (`PLATFORM_REJECTED`) or on arrival (`UNKNOWN_PLATFORM`); `REJECT` sent back.
    event RedemptionRejected(bytes32 indexed id, bytes32 reason);
    /// @notice A: the locked credits are burned.
    event RedemptionBurned(bytes32 indexed id);
    /// @notice A: the locked credits are back in the user's balance; `reason` is B's, or `TIMEOUT` (then
    /// `EXPIRED` was sent to B).
    event RedemptionRefunded(bytes32 indexed id, bytes32 reason);
    /// @notice B: A refunded the redemption after its timeout; the platform can no longer confirm or reject.
    event RedemptionExpired(bytes32 indexed id);
    /// @notice A: `CONFIRM` arrived after the credits were refunded. Nothing is burned; the clearing provider
    /// must settle it (the platform delivered, the user kept the credits).
    event LateConfirmation(bytes32 indexed id);
    /// @notice A message that changes nothing (a duplicate delivery, or an answer to a finished redemption).
    event MessageIgnored(bytes32 indexed id, uint8 op, State state);

    constructor(
        uint64 chainId_,
        address outbox_,
        address inbox_,
        address credits_,
        IShanduAlliance alliance_,
        Peer[] memory peers,
        uint64 refundMargin_
    ) {
        if (chainId_ == 0) revert ShanduRejected("INVALID_CHAIN_ID");
        if (!_servesChain(outbox_, chainId_)) revert ShanduRejected("INVALID_OUTBOX");
        if (inbox_ == address(0)) revert ShanduRejected("INVALID_INBOX");
        if (credits_ == address(0)) revert ShanduRejected("INVALID_CREDITS");
        if (!_servesChain(address(alliance_), chainId_)) revert ShanduRejected("INVALID_ALLIANCE");
        chainId = chainId_;
        outbox = IShanduOutbox(outbox_);
        inbox = inbox_;
        credits = GoodDeedCredits(credits_);
        alliance = alliance_;
        refundMargin = refundMargin_;
        // solc's legacy code generator inlines the only decoder of `Peer[]` in the creation code into the
        // decoder of the constructor's seven arguments, which then needs more than 16 stack slots. A second
        // use of that decoder, never taken, keeps it a function of its own.
        if (peers.length > type(uint64).max) peers = abi.decode(new bytes(0), (Peer[]));
        for (uint256 i = 0; i < peers.length; i++) {
            Peer memory p = peers[i];
            if (p.chainId == 0 || p.chainId == chainId_ || p.redemption.length == 0 || p.redemption.length > 64) {
                revert ShanduRejected("INVALID_PEER");
            }
            if (_peers[p.chainId].length != 0) revert ShanduRejected("DUPLICATE_PEER");
            _peers[p.chainId] = p.redemption;
        }
    }

    /// @dev Whether `c` is a contract whose `chainId()` is `chainId_` (the outbox and the alliance registry
    /// have the same view).
    function _servesChain(address c, uint64 chainId_) private view returns (bool) {
        return c.code.length != 0 && IShanduOutbox(c).chainId() == chainId_;
    }

    // ---------------------------------------------------------------- views

    function state(bytes32 id) external view returns (State) {
        return _redemptions[id].state;
    }

    function redemption(bytes32 id) external view returns (Redemption memory) {
        return _redemptions[id];
    }

    function peer(uint64 peerChainId) external view returns (bytes memory) {
        return _peers[peerChainId];
    }

    /// @notice A: the credits a request to `laneChainId` may lock now under the lane's limit (0 while the lane
    /// is not open or paused).
    function availableCredits(uint64 laneChainId) external view returns (uint256) {
        (bool open, bool paused, uint128 capacity, uint128 refillPerSecond) = alliance.laneLimit(laneChainId);
        if (!open || paused) return 0;
        return _available(_buckets[laneChainId], capacity, refillPerSecond);
    }

    /// @notice The id of the `userNonce`-th redemption `user` requests here.
    function redemptionId(address user, uint64 userNonce) public view returns (bytes32) {
        return keccak256(abi.encode(chainId, address(this), user, userNonce));
    }

    // ---------------------------------------------------------------- A: the user's chain

    /// @notice Locks `amount` credits of `creditClass` and asks `platform` on `destinationChainId` to redeem
    /// them before `deadline` (seconds, by B's clock). Returns the redemption id. The platform must be
    /// registered on `destinationChainId` in this chain's alliance registry, and the lane's limit must be
    /// open, not paused, and have `amount` credits left in its bucket (which the request takes).
    /// `envelopeCommitment` is the commitment to the regulator envelope of the redemption's personal data
    /// (zero for none); it travels in the attested `AUTHORISE` payload, at byte 146.
    function requestRedemption(
        uint64 destinationChainId,
        address platform,
        bytes32 creditClass,
        uint256 amount,
        uint64 deadline,
        bytes32 envelopeCommitment
    ) external returns (bytes32 id) {
        bytes memory to = _peers[destinationChainId];
        if (to.length == 0) revert ShanduRejected("UNKNOWN_PEER");
        if (amount == 0) revert ShanduRejected("ZERO_AMOUNT");
        if (platform == address(0)) revert ShanduRejected("INVALID_PLATFORM");
        if (deadline <= block.timestamp) revert ShanduRejected("INVALID_DEADLINE");
        if (!_isPlatform(destinationChainId, platform)) revert ShanduRejected("UNKNOWN_PLATFORM");
        _take(destinationChainId, amount);
        uint64 userNonce = nextUserNonce[msg.sender];
        nextUserNonce[msg.sender] = userNonce + 1;
        id = redemptionId(msg.sender, userNonce);
        _redemptions[id] = Redemption({
            state: State.LOCKED,
            refundedByTimeout: false,
            lateConfirmation: false,
            peerChainId: destinationChainId,
            deadline: deadline,
            user: msg.sender,
            platform: platform,
            creditClass: creditClass,
            amount: amount
        });
        credits.lock(msg.sender, creditClass, amount);
        uint64 outboxNonce = outbox.send(destinationChainId, to, _authorisePayload(id, _redemptions[id], envelopeCommitment));
        emit RedemptionRequested(id, msg.sender, destinationChainId, platform, creditClass, amount, deadline, outboxNonce);
    }

    /// @dev `AUTHORISE`: the redemption's terms and the commitment to the regulator envelope holding the
    /// redemption's personal data (docs/protocol.md §8.5; zero when there is none), which B does not read.
    function _authorisePayload(bytes32 id, Redemption storage r, bytes32 envelopeCommitment) private view returns (bytes memory) {
        return abi.encodePacked(
            PAYLOAD_VERSION, OP_AUTHORISE, id, r.user, r.platform, r.creditClass, r.amount, r.deadline, envelopeCommitment
        );
    }

    /// @notice Refunds a redemption that got no answer: anyone may call it once `deadline + refundMargin` has
    /// passed by this chain's clock, while the credits are still locked.
    function refundAfterTimeout(bytes32 id) external {
        Redemption storage r = _outgoing(id);
        if (r.state == State.BURNED) revert ShanduRejected("ALREADY_BURNED");
        if (r.state == State.REFUNDED) revert ShanduRejected("ALREADY_REFUNDED");
        if (block.timestamp <= uint256(r.deadline) + refundMargin) revert ShanduRejected("TOO_EARLY");
        r.refundedByTimeout = true;
        _refund(id, r, "TIMEOUT");
        outbox.send(r.peerChainId, _peers[r.peerChainId], abi.encodePacked(PAYLOAD_VERSION, OP_EXPIRED, id));
    }

    // ---------------------------------------------------------------- B: the exchange platform's chain

    /// @notice The platform confirms it redeemed the credits; only while authorised, and not after the deadline.
    function confirm(bytes32 id) external {
        Redemption storage r = _incomingFor(id);
        if (block.timestamp > r.deadline) revert ShanduRejected("DEADLINE_PASSED");
        r.state = State.CONFIRMED;
        emit RedemptionConfirmed(id, msg.sender);
        outbox.send(r.peerChainId, _peers[r.peerChainId], abi.encodePacked(PAYLOAD_VERSION, OP_CONFIRM, id));
    }

    /// @notice The platform declines the redemption; only while authorised (also after the deadline).
    function reject(bytes32 id) external {
        Redemption storage r = _incomingFor(id);
        _reject(id, r, "PLATFORM_REJECTED");
    }

    // ---------------------------------------------------------------- both: messages from the peer

    function shanduReceive(uint64 sourceChainId, bytes calldata sender, uint64, bytes calldata payload) external {
        if (msg.sender != inbox) revert ShanduRejected("NOT_INBOX");
        bytes storage expected = _peers[sourceChainId];
        if (expected.length == 0) revert ShanduRejected("UNKNOWN_PEER");
        if (keccak256(expected) != keccak256(sender)) revert ShanduRejected("UNKNOWN_SENDER");
        if (payload.length < 2) revert ShanduRejected("MALFORMED_PAYLOAD");
        if (uint8(payload[0]) != PAYLOAD_VERSION) revert ShanduRejected("UNKNOWN_VERSION");
        uint8 op = uint8(payload[1]);
        if (op == OP_AUTHORISE) {
            if (payload.length != AUTHORISE_LENGTH) revert ShanduRejected("MALFORMED_PAYLOAD");
            _onAuthorise(sourceChainId, payload);
        } else if (op == OP_CONFIRM) {
            if (payload.length != CONFIRM_LENGTH) revert ShanduRejected("MALFORMED_PAYLOAD");
            _onConfirm(sourceChainId, bytes32(payload[2:34]));
        } else if (op == OP_REJECT) {
            if (payload.length != REJECT_LENGTH) revert ShanduRejected("MALFORMED_PAYLOAD");
            _onReject(sourceChainId, bytes32(payload[2:34]), bytes32(payload[34:66]));
        } else if (op == OP_EXPIRED) {
            if (payload.length != EXPIRED_LENGTH) revert ShanduRejected("MALFORMED_PAYLOAD");
            _onExpired(sourceChainId, bytes32(payload[2:34]));
        } else {
            revert ShanduRejected("UNKNOWN_OP");
        }
    }

    function _onAuthorise(uint64 sourceChainId, bytes calldata p) private {
        bytes32 id = bytes32(p[2:34]);
        Redemption storage r = _redemptions[id];
        if (r.state != State.NONE) {
            emit MessageIgnored(id, OP_AUTHORISE, r.state);
            return;
        }
        r.peerChainId = sourceChainId;
        r.user = address(bytes20(p[34:54]));
        r.platform = address(bytes20(p[54:74]));
        r.creditClass = bytes32(p[74:106]);
        r.amount = uint256(bytes32(p[106:138]));
        r.deadline = uint64(bytes8(p[138:146]));
        if (!_isPlatform(chainId, r.platform)) {
            _reject(id, r, "UNKNOWN_PLATFORM");
            return;
        }
        r.state = State.AUTHORISED;
        emit RedemptionAuthorised(id, sourceChainId, r.platform, r.user, r.creditClass, r.amount, r.deadline);
    }

    function _onConfirm(uint64 sourceChainId, bytes32 id) private {
        Redemption storage r = _answered(sourceChainId, id);
        if (r.state == State.LOCKED) {
            r.state = State.BURNED;
            emit RedemptionBurned(id);
            credits.burn(r.user, r.creditClass, r.amount);
        } else if (r.state == State.REFUNDED && !r.lateConfirmation) {
            r.lateConfirmation = true;
            emit LateConfirmation(id);
        } else {
            emit MessageIgnored(id, OP_CONFIRM, r.state);
        }
    }

    function _onReject(uint64 sourceChainId, bytes32 id, bytes32 reason) private {
        Redemption storage r = _answered(sourceChainId, id);
        if (r.state == State.LOCKED) _refund(id, r, reason);
        else emit MessageIgnored(id, OP_REJECT, r.state);
    }

    /// @dev B: only an authorised redemption from the chain that sent it expires; anything else (a
    /// duplicate, or a redemption already answered) changes nothing.
    function _onExpired(uint64 sourceChainId, bytes32 id) private {
        Redemption storage r = _redemptions[id];
        if (r.state == State.AUTHORISED && r.peerChainId == sourceChainId) {
            r.state = State.EXPIRED;
            emit RedemptionExpired(id);
        } else {
            emit MessageIgnored(id, OP_EXPIRED, r.state);
        }
    }

    // ---------------------------------------------------------------- internals

    function _isPlatform(uint64 onChainId, address platform) private view returns (bool) {
        return alliance.hasRole(AllianceRoles.PLATFORM, onChainId, platform);
    }

    /// @dev Takes `amount` credits from the bucket of the lane to `laneChainId`, or refuses.
    function _take(uint64 laneChainId, uint256 amount) private {
        (uint128 capacity, uint128 refillPerSecond) = _openLimit(laneChainId);
        Bucket storage b = _buckets[laneChainId];
        uint256 available = _available(b, capacity, refillPerSecond);
        if (amount > available) revert ShanduRejected("RATE_LIMITED");
        // available ≤ capacity, a uint128
        b.tokens = uint128(available - amount);
        b.updatedAt = uint64(block.timestamp);
        b.capacity = capacity;
        b.refillPerSecond = refillPerSecond;
    }

    /// @dev The limit of the lane to `laneChainId`, refusing a lane not open or paused.
    function _openLimit(uint64 laneChainId) private view returns (uint128 capacity, uint128 refillPerSecond) {
        bool open;
        bool paused;
        (open, paused, capacity, refillPerSecond) = alliance.laneLimit(laneChainId);
        if (!open) revert ShanduRejected("LANE_NOT_OPEN");
        if (paused) revert ShanduRejected("LANE_PAUSED");
    }

    /// @dev The bucket's level now: full under a limit it was not filled under, else refilled since its last
    /// use and capped at the capacity. (elapsed < 2^64 and refill < 2^128: the product fits 256 bits.)
    function _available(Bucket storage b, uint128 capacity, uint128 refillPerSecond) private view returns (uint256) {
        if (b.capacity != capacity || b.refillPerSecond != refillPerSecond) return capacity;
        uint256 level = uint256(b.tokens) + (block.timestamp - b.updatedAt) * uint256(refillPerSecond);
        return level < capacity ? level : capacity;
    }

    /// @dev A redemption requested here, for `refundAfterTimeout`.
    function _outgoing(bytes32 id) private view returns (Redemption storage r) {
        r = _redemptions[id];
        State s = r.state;
        if (s != State.LOCKED && s != State.BURNED && s != State.REFUNDED) revert ShanduRejected("UNKNOWN_REDEMPTION");
    }

    /// @dev A redemption requested here and sent to `sourceChainId`: only that peer may answer it.
    function _answered(uint64 sourceChainId, bytes32 id) private view returns (Redemption storage r) {
        r = _outgoing(id);
        if (r.peerChainId != sourceChainId) revert ShanduRejected("UNKNOWN_REDEMPTION");
    }

    /// @dev An authorised redemption, called by its platform.
    function _incomingFor(bytes32 id) private view returns (Redemption storage r) {
        r = _redemptions[id];
        State s = r.state;
        if (s != State.AUTHORISED && s != State.CONFIRMED && s != State.REJECTED && s != State.EXPIRED) {
            revert ShanduRejected("UNKNOWN_REDEMPTION");
        }
        if (msg.sender != r.platform) revert ShanduRejected("NOT_PLATFORM");
        if (s != State.AUTHORISED) revert ShanduRejected("NOT_AUTHORISED");
    }

    function _reject(bytes32 id, Redemption storage r, bytes32 reason) private {
        r.state = State.REJECTED;
        emit RedemptionRejected(id, reason);
        outbox.send(r.peerChainId, _peers[r.peerChainId], abi.encodePacked(PAYLOAD_VERSION, OP_REJECT, id, reason));
    }

    function _refund(bytes32 id, Redemption storage r, bytes32 reason) private {
        r.state = State.REFUNDED;
        emit RedemptionRefunded(id, reason);
        credits.refund(r.user, r.creditClass, r.amount);
    }
}
