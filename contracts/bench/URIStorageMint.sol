// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";

/// Gas reference: a plain OpenZeppelin ERC721URIStorage mint (as the OpenZeppelin
/// Wizard writes it, less Ownable) storing the same `ipfs://` URI.
contract URIStorageMint is ERC721URIStorage {
    uint256 private _nextTokenId;

    constructor() ERC721("Reference", "REF") {}

    function mint(string calldata uri) external returns (uint256 tokenId) {
        tokenId = _nextTokenId++;
        _mint(msg.sender, tokenId);
        _setTokenURI(tokenId, uri);
    }
}
