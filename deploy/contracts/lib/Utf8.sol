// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @notice Well-formed UTF-8 (RFC 3629 §4; the Unicode "well-formed byte sequences" table): no overlong
/// forms, no surrogates, nothing above U+10FFFF — what a fatal WHATWG TextDecoder accepts.
library Utf8 {
    function valid(bytes calldata s) internal pure returns (bool) {
        uint256 n = s.length;
        uint256 i = 0;
        while (i < n) {
            uint8 b = uint8(s[i]);
            if (b < 0x80) {
                i++;
                continue;
            }
            uint256 more;
            uint8 lo = 0x80;
            uint8 hi = 0xbf;
            if (b >= 0xc2 && b <= 0xdf) {
                more = 1;
            } else if (b == 0xe0) {
                more = 2;
                lo = 0xa0;
            } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
                more = 2;
            } else if (b == 0xed) {
                more = 2;
                hi = 0x9f;
            } else if (b == 0xf0) {
                more = 3;
                lo = 0x90;
            } else if (b >= 0xf1 && b <= 0xf3) {
                more = 3;
            } else if (b == 0xf4) {
                more = 3;
                hi = 0x8f;
            } else {
                return false;
            }
            if (i + more >= n) return false;
            uint8 c = uint8(s[i + 1]);
            if (c < lo || c > hi) return false;
            for (uint256 k = 2; k <= more; k++) {
                uint8 d = uint8(s[i + k]);
                if (d < 0x80 || d > 0xbf) return false;
            }
            i += more + 1;
        }
        return true;
    }
}
