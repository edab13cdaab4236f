// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721A} from "erc721a/contracts/ERC721A.sol";

/// Gas reference: an ERC721A mint of one token (stores no URI: the floor).
contract ERC721AMint is ERC721A {
    constructor() ERC721A("Reference", "REF") {}

    function mint() external {
        _mint(msg.sender, 1);
    }
}
