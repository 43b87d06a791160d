// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduOutbox, IShanduReceiver, ShanduRejected} from "../interfaces/IShandu.sol";
import {BatchTree} from "../lib/BatchTree.sol";
import {Utf8} from "../lib/Utf8.sol";
import {AllianceRoles, IShanduAlliance} from "./IShanduAlliance.sol";

/// @title Settlement roots and settled lines of one alliance chain (docs/settlement.md §7)
/// @notice The clearing provider (`CLEARING` on this chain) publishes the settlement root of each window
/// (`SettlementBatch.settlementRoot`): it is recorded here and sent to the settlement contract of every
/// peer chain through this chain's Shandu outbox, so that every alliance chain holds the same root under
/// the committee's attestation. Once it has executed a line (a transfer payer → payee), the clearing
/// provider marks it settled with the line, the batch header and the line's inclusion proof, and a
/// reference to the payment (e.g. a hash of the bank's transfer record).
///
/// A root arrives only from this chain's inbox and only from the peer registered for its source chain. A
/// window has one root: the first recorded is kept; a different root for it later is refused when
/// published here (`WINDOW_ALREADY_PUBLISHED`) and reported, not recorded, when it arrives from a peer
/// (`SettlementConflict`: a refusal would only make the inbox mark the message failed). Owner-less:
/// everything is fixed at deployment. Refusals revert with `ShanduRejected(code)`.
contract ShanduSettlement is IShanduReceiver {
    struct Peer {
        uint64 chainId;
        /// @notice The peer settlement contract as the Shandu message carries it (20 bytes on EVM chains).
        bytes settlementContract;
    }

    struct Window {
        bytes32 root;
        uint32 lineCount;
        /// @notice The chain the root was first recorded from (this chain when published here).
        uint64 sourceChainId;
    }

    uint8 public constant PAYLOAD_VERSION = 1;
    uint8 public constant OP_ROOT = 1;
    /// @notice version ‖ op ‖ windowId (u64) ‖ settlementRoot ‖ lineCount (u32).
    uint256 internal constant ROOT_PAYLOAD_LENGTH = 46;
    bytes16 internal constant TAG = "SHANDU-SETTLE-v1";
    uint8 internal constant RECORD_LINE = 0x01;
    uint8 internal constant RECORD_ROOT = 0x02;
    uint256 internal constant MAX_ID_BYTES = 256;
    uint256 internal constant MAX_CURRENCY_BYTES = 32;
    /// @dev Header bytes after the currency: redemptionCount 4, redemptionsRoot 32, obligationCount 4,
    /// grossTotal 16, roundingDenominator 16, roundedOff 16, positionCount 4, nettingMethod 1, lineCount 4,
    /// netTotal 16.
    uint256 internal constant HEADER_TAIL_BYTES = 113;
    /// @dev Offset of the netting method, then of lineCount, within that tail.
    uint256 internal constant TAIL_METHOD_AT = 92;
    uint256 internal constant TAIL_LINE_COUNT_AT = 93;

    uint64 public immutable chainId;
    IShanduAlliance public immutable alliance;
    IShanduOutbox public immutable outbox;
    address public immutable inbox;

    uint64[] private _peerChainIds;
    mapping(uint64 chainId => bytes) private _peers;
    mapping(uint64 windowId => Window) private _windows;
    mapping(uint64 windowId => mapping(uint256 index => bytes32 paymentRef)) private _references;

    /// @notice A window's root recorded (published here, or received from `sourceChainId`).
    event SettlementRootRecorded(uint64 indexed windowId, bytes32 settlementRoot, uint32 lineCount, uint64 sourceChainId);
    /// @notice The root was sent to a peer (one event per peer).
    event SettlementRootSent(uint64 indexed windowId, uint64 indexed destinationChainId, uint64 outboxNonce);
    /// @notice A peer sent another root for a window that already has one; the first is kept.
    event SettlementConflict(uint64 indexed windowId, uint64 sourceChainId, bytes32 keptRoot, bytes32 otherRoot);
    /// @notice A peer sent the root this window already has (a duplicate delivery, or two publishers).
    event MessageIgnored(uint64 indexed windowId, uint64 sourceChainId);
    event LineSettled(uint64 indexed windowId, uint256 indexed index, bytes32 paymentRef);

    constructor(IShanduAlliance alliance_, address outbox_, address inbox_, Peer[] memory peers) {
        if (address(alliance_).code.length == 0) revert ShanduRejected("INVALID_ALLIANCE");
        uint64 id = alliance_.chainId();
        if (id == 0) revert ShanduRejected("INVALID_CHAIN_ID");
        if (outbox_.code.length == 0 || IShanduOutbox(outbox_).chainId() != id) revert ShanduRejected("INVALID_OUTBOX");
        if (inbox_ == address(0)) revert ShanduRejected("INVALID_INBOX");
        chainId = id;
        alliance = alliance_;
        outbox = IShanduOutbox(outbox_);
        inbox = inbox_;
        for (uint256 i = 0; i < peers.length; i++) {
            Peer memory p = peers[i];
            if (p.chainId == 0 || p.chainId == id || p.settlementContract.length == 0 || p.settlementContract.length > 64) {
                revert ShanduRejected("INVALID_PEER");
            }
            if (_peers[p.chainId].length != 0) revert ShanduRejected("DUPLICATE_PEER");
            _peers[p.chainId] = p.settlementContract;
            _peerChainIds.push(p.chainId);
        }
    }

    // ---------------------------------------------------------------- views

    function rootOf(uint64 windowId) external view returns (bytes32) {
        return _windows[windowId].root;
    }

    function window(uint64 windowId) external view returns (Window memory) {
        return _windows[windowId];
    }

    function isSettled(uint64 windowId, uint256 index) external view returns (bool) {
        return _references[windowId][index] != 0;
    }

    /// @notice The payment reference line `index` of the window was marked settled with (0: not settled).
    function referenceOf(uint64 windowId, uint256 index) external view returns (bytes32) {
        return _references[windowId][index];
    }

    function peer(uint64 peerChainId) external view returns (bytes memory) {
        return _peers[peerChainId];
    }

    function peerChainIds() external view returns (uint64[] memory) {
        return _peerChainIds;
    }

    // ---------------------------------------------------------------- clearing provider

    /// @notice Records `settlementRoot` for `windowId` and sends it to every peer. Only `CLEARING` on this
    /// chain (`NOT_CLEARING`); a zero root is `INVALID_ROOT`. Publishing the root the window already has
    /// changes nothing and sends nothing; another root is `WINDOW_ALREADY_PUBLISHED`.
    function publish(uint64 windowId, bytes32 settlementRoot, uint32 lineCount) external {
        _onlyClearing();
        if (settlementRoot == 0) revert ShanduRejected("INVALID_ROOT");
        Window storage w = _windows[windowId];
        if (w.root == settlementRoot) return;
        if (w.root != 0) revert ShanduRejected("WINDOW_ALREADY_PUBLISHED");
        _record(w, windowId, settlementRoot, lineCount, chainId);
        bytes memory payload = abi.encodePacked(PAYLOAD_VERSION, OP_ROOT, windowId, settlementRoot, lineCount);
        for (uint256 i = 0; i < _peerChainIds.length; i++) {
            uint64 to = _peerChainIds[i];
            uint64 nonce = outbox.send(to, _peers[to], payload);
            emit SettlementRootSent(windowId, to, nonce);
        }
    }

    /// @notice Marks line `index` of `windowId` settled by the payment reference `paymentRef` (non-zero: `INVALID_REFERENCE`).
    /// `header` and `treeRoot` must hash to the window's root (`UNKNOWN_WINDOW`, `ROOT_MISMATCH`); `line`
    /// (docs/settlement.md §4.1) must be of this window and the header's currency (`WINDOW_MISMATCH`,
    /// `CURRENCY_MISMATCH`) and sit at its index of the tree of `header.lineCount` leaves with root `treeRoot`
    /// (`siblings`: the batch-tree proof of that one index; the tree's codes, `ROOT_MISMATCH` for a wrong
    /// proof). Malformed bytes: `BAD_HEADER`, `BAD_LINE`. A line is settled once (`LINE_ALREADY_SETTLED`).
    function markSettled(
        uint64 windowId,
        bytes calldata header,
        bytes32 treeRoot,
        bytes calldata line,
        bytes32[] calldata siblings,
        bytes32 paymentRef
    ) external {
        _onlyClearing();
        if (paymentRef == 0) revert ShanduRejected("INVALID_REFERENCE");
        uint32 index = _provenLine(windowId, header, treeRoot, line, siblings);
        if (_references[windowId][index] != 0) revert ShanduRejected("LINE_ALREADY_SETTLED");
        _references[windowId][index] = paymentRef;
        emit LineSettled(windowId, index, paymentRef);
    }

    /// @dev The checks of `markSettled` that tie `line` to the window's root; returns the line's index.
    function _provenLine(uint64 windowId, bytes calldata header, bytes32 treeRoot, bytes calldata line, bytes32[] calldata siblings)
        private
        view
        returns (uint32 index)
    {
        bytes32 root = _windows[windowId].root;
        if (root == 0) revert ShanduRejected("UNKNOWN_WINDOW");
        if (sha256(abi.encodePacked(TAG, RECORD_ROOT, header, treeRoot)) != root) revert ShanduRejected("ROOT_MISMATCH");
        (uint64 headerWindow, bytes32 headerCurrency, uint32 lineCount) = _parseHeader(header);
        uint64 lineWindow;
        bytes32 lineCurrency;
        (lineWindow, index, lineCurrency) = _parseLine(line);
        if (headerWindow != windowId || lineWindow != windowId) revert ShanduRejected("WINDOW_MISMATCH");
        if (lineCurrency != headerCurrency) revert ShanduRejected("CURRENCY_MISMATCH");
        uint256[] memory indices = new uint256[](1);
        indices[0] = index;
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = sha256(abi.encodePacked(TAG, RECORD_LINE, line));
        BatchTree.verify(treeRoot, lineCount, indices, leaves, siblings);
    }

    // ---------------------------------------------------------------- messages from peers

    function shanduReceive(uint64 sourceChainId, bytes calldata sender, uint64, bytes calldata payload) external {
        if (msg.sender != inbox) revert ShanduRejected("NOT_INBOX");
        bytes storage expected = _peers[sourceChainId];
        if (expected.length == 0) revert ShanduRejected("UNKNOWN_PEER");
        if (keccak256(expected) != keccak256(sender)) revert ShanduRejected("UNKNOWN_SENDER");
        if (payload.length < 2) revert ShanduRejected("MALFORMED_PAYLOAD");
        if (uint8(payload[0]) != PAYLOAD_VERSION) revert ShanduRejected("UNKNOWN_VERSION");
        if (uint8(payload[1]) != OP_ROOT) revert ShanduRejected("UNKNOWN_OP");
        if (payload.length != ROOT_PAYLOAD_LENGTH) revert ShanduRejected("MALFORMED_PAYLOAD");
        uint64 windowId = uint64(bytes8(payload[2:10]));
        bytes32 settlementRoot = bytes32(payload[10:42]);
        uint32 lineCount = uint32(bytes4(payload[42:46]));
        if (settlementRoot == 0) revert ShanduRejected("MALFORMED_PAYLOAD");
        Window storage w = _windows[windowId];
        if (w.root == 0) {
            _record(w, windowId, settlementRoot, lineCount, sourceChainId);
        } else if (w.root == settlementRoot) {
            emit MessageIgnored(windowId, sourceChainId);
        } else {
            emit SettlementConflict(windowId, sourceChainId, w.root, settlementRoot);
        }
    }

    // ---------------------------------------------------------------- internals

    function _onlyClearing() private view {
        if (!alliance.hasRole(AllianceRoles.CLEARING, chainId, msg.sender)) revert ShanduRejected("NOT_CLEARING");
    }

    function _record(Window storage w, uint64 windowId, bytes32 settlementRoot, uint32 lineCount, uint64 source) private {
        w.root = settlementRoot;
        w.lineCount = lineCount;
        w.sourceChainId = source;
        emit SettlementRootRecorded(windowId, settlementRoot, lineCount, source);
    }

    /// @dev Strict parse of a header (docs/settlement.md §4.2): returns its window, the hash of its currency
    /// and its line count. Every length prefix is checked against its bounds and the bytes left.
    function _parseHeader(bytes calldata h) private pure returns (uint64 windowId, bytes32 currency, uint32 lineCount) {
        if (h.length < 3 || uint8(h[0]) != 1) revert ShanduRejected("BAD_HEADER");
        uint256 pos = 3 + _text(h, 1, 2, MAX_ID_BYTES, "BAD_HEADER");
        if (h.length < pos + 25) revert ShanduRejected("BAD_HEADER");
        windowId = uint64(bytes8(h[pos:pos + 8]));
        pos += 24;
        uint256 currencyLength = _text(h, pos, 1, MAX_CURRENCY_BYTES, "BAD_HEADER");
        currency = keccak256(h[pos + 1:pos + 1 + currencyLength]);
        pos += 1 + currencyLength;
        if (h.length != pos + HEADER_TAIL_BYTES) revert ShanduRejected("BAD_HEADER");
        uint8 method = uint8(h[pos + TAIL_METHOD_AT]);
        if (method != 1 && method != 2) revert ShanduRejected("BAD_HEADER");
        lineCount = uint32(bytes4(h[pos + TAIL_LINE_COUNT_AT:pos + TAIL_LINE_COUNT_AT + 4]));
    }

    /// @dev Strict parse of a line (docs/settlement.md §4.1): returns its window, index and currency hash.
    function _parseLine(bytes calldata l) private pure returns (uint64 windowId, uint32 index, bytes32 currency) {
        if (l.length < 14) revert ShanduRejected("BAD_LINE");
        windowId = uint64(bytes8(l[0:8]));
        index = uint32(bytes4(l[8:12]));
        uint256 pos = 12;
        pos += 2 + _text(l, pos, 2, MAX_ID_BYTES, "BAD_LINE"); // payer
        pos += 2 + _text(l, pos, 2, MAX_ID_BYTES, "BAD_LINE"); // payee
        pos += 16; // amount
        uint256 currencyLength = _text(l, pos, 1, MAX_CURRENCY_BYTES, "BAD_LINE");
        currency = keccak256(l[pos + 1:pos + 1 + currencyLength]);
        if (l.length != pos + 1 + currencyLength) revert ShanduRejected("BAD_LINE");
    }

    /// @dev The length of the text field at `pos` (a `prefix`-byte big-endian length, then UTF-8 bytes):
    /// between 1 and `max`, within `b`, well-formed; reverts with `code` otherwise.
    function _text(bytes calldata b, uint256 pos, uint256 prefix, uint256 max, bytes32 code) private pure returns (uint256 n) {
        if (b.length < pos + prefix) revert ShanduRejected(code);
        n = prefix == 1 ? uint8(b[pos]) : uint16(bytes2(b[pos:pos + 2]));
        if (n == 0 || n > max || b.length < pos + prefix + n) revert ShanduRejected(code);
        if (!Utf8.valid(b[pos + prefix:pos + prefix + n])) revert ShanduRejected(code);
    }
}
