// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// ERC-7662 "AI Agent NFTs": the agent's public data, read from the token.
interface IERC7662 {
    function getAgentData(uint256 tokenId)
        external
        view
        returns (
            string memory name,
            string memory description,
            string memory model,
            string memory userPromptURI,
            string memory systemPromptURI,
            bool promptsEncrypted
        );
}

/// Familiar agents as ERC-721 tokens, with a marketplace built in.
///
/// A token's id is the sha256 of its agent package (the `bytes32` content hash), so
/// one package is one token: minting it twice is impossible, and a client that lost
/// track of a mint finds it again by `ownerOf(contentHash)`. The creator signs the
/// content hash (EIP-191) and only the signer can mint it, so nobody can take a
/// creator's package from the mempool and mint it first. `tokenURI` is the package's
/// CIDv1 (raw codec, sha2-256), computed from the id: nothing is stored for it.
///
/// The agent's data (creator, name, model, description) never changes, so it is
/// written once as the code of a small data contract (as Solady's SSTORE2 does:
/// about 200 gas a byte instead of about 700 in storage); the token's one
/// storage slot holds that contract's address, the royalty and a flag.
///
/// The marketplace lists a token at a price; a purchase pays the ERC-2981 royalty to
/// the creator and the rest to the seller in the same transaction. A listing ends
/// with any transfer of its token, so nobody can sell a token they no longer own.
contract AgentNFT is ERC721, IERC2981, IERC7662, ReentrancyGuardTransient {
    /// Royalties are in basis points (1/100 of a percent), at most 10 %.
    uint16 public constant MAX_ROYALTY_BPS = 1000;
    uint256 public constant MAX_NAME_BYTES = 64;
    uint256 public constant MAX_DESCRIPTION_BYTES = 512;
    uint256 public constant MAX_MODEL_BYTES = 128;

    /// One storage slot per token. `data` is the contract whose code is
    /// 0x00 ‖ creator (20 bytes) ‖ len ‖ name ‖ len ‖ model ‖ description.
    struct Agent {
        address data;
        uint16 royaltyBps;
        bool promptsEncrypted;
    }

    struct Listing {
        address seller;
        uint96 price;
    }

    mapping(uint256 tokenId => Agent) private _agents;
    mapping(uint256 tokenId => Listing) private _listings;

    /// `tokenId` is the package's content hash; `signature` is the creator's EIP-191
    /// signature of it, kept in the log so that importers can check it themselves.
    event AgentMinted(uint256 indexed tokenId, address indexed creator, uint16 royaltyBps, bytes signature);
    event Listed(uint256 indexed tokenId, address indexed seller, uint256 price);
    event ListingCancelled(uint256 indexed tokenId, address indexed seller);
    event Sold(uint256 indexed tokenId, address indexed seller, address indexed buyer, uint256 price, uint256 royalty);

    error AlreadyMinted(uint256 tokenId);
    error BadSignature(address signer, address sender);
    error RoyaltyTooHigh(uint256 royaltyBps, uint256 maxBps);
    error BadText(string field, uint256 length, uint256 maxLength);
    error NotTokenOwner(uint256 tokenId, address caller);
    error NotSeller(uint256 tokenId, address caller);
    error BadPrice(uint256 price);
    error NotListed(uint256 tokenId);
    error OwnListing(uint256 tokenId);
    error WrongPayment(uint256 sent, uint256 price);
    error PaymentFailed(address to, uint256 amount);

    constructor() ERC721("Familiar Agents", "AGENT") {}

    // ---- minting and agent data ----------------------------------------------------

    function mint(
        bytes32 packageHash,
        uint16 royaltyBps,
        bool promptsEncrypted,
        string calldata name,
        string calldata description,
        string calldata model,
        bytes calldata signature
    ) external returns (uint256 tokenId) {
        if (royaltyBps > MAX_ROYALTY_BPS) revert RoyaltyTooHigh(royaltyBps, MAX_ROYALTY_BPS);
        _checkText("name", bytes(name).length, MAX_NAME_BYTES);
        if (bytes(name).length == 0) revert BadText("name", 0, MAX_NAME_BYTES);
        _checkText("description", bytes(description).length, MAX_DESCRIPTION_BYTES);
        _checkText("model", bytes(model).length, MAX_MODEL_BYTES);
        address signer = ECDSA.recoverCalldata(MessageHashUtils.toEthSignedMessageHash(packageHash), signature);
        if (signer != msg.sender) revert BadSignature(signer, msg.sender);
        tokenId = uint256(packageHash);
        if (_ownerOf(tokenId) != address(0)) revert AlreadyMinted(tokenId);

        _agents[tokenId] = Agent(_writeData(name, model, description), royaltyBps, promptsEncrypted);
        _mint(msg.sender, tokenId);
        emit AgentMinted(tokenId, msg.sender, royaltyBps, signature);
    }

    /// The sha256 of the token's agent package.
    function contentHash(uint256 tokenId) external view returns (bytes32) {
        _requireOwned(tokenId);
        return bytes32(tokenId);
    }

    function creatorOf(uint256 tokenId) external view returns (address) {
        _requireOwned(tokenId);
        return _creator(_agents[tokenId].data);
    }

    /// `ipfs://` + the package's CIDv1 (raw codec, sha2-256 multihash, base32).
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return string.concat("ipfs://", _cid(bytes32(tokenId)));
    }

    /// ERC-7662. Both prompts live in the agent package, so both URIs name it.
    function getAgentData(uint256 tokenId)
        external
        view
        returns (
            string memory name,
            string memory description,
            string memory model,
            string memory userPromptURI,
            string memory systemPromptURI,
            bool promptsEncrypted
        )
    {
        userPromptURI = tokenURI(tokenId);
        systemPromptURI = userPromptURI;
        (name, model, description) = _readData(_agents[tokenId].data);
        promptsEncrypted = _agents[tokenId].promptsEncrypted;
    }

    /// ERC-2981: the creator's share of a sale at `salePrice`.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) public view returns (address, uint256) {
        Agent storage agent = _agents[tokenId];
        if (agent.data == address(0)) return (address(0), 0);
        return (_creator(agent.data), (salePrice * agent.royaltyBps) / 10_000);
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, IERC165) returns (bool) {
        return interfaceId == type(IERC2981).interfaceId || interfaceId == type(IERC7662).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ---- marketplace -----------------------------------------------------------------

    function listingOf(uint256 tokenId) external view returns (address seller, uint256 price) {
        Listing storage listing = _listings[tokenId];
        return (listing.seller, listing.price);
    }

    function list(uint256 tokenId, uint256 price) external {
        if (ownerOf(tokenId) != msg.sender) revert NotTokenOwner(tokenId, msg.sender);
        if (price == 0 || price > type(uint96).max) revert BadPrice(price);
        _listings[tokenId] = Listing(msg.sender, uint96(price));
        emit Listed(tokenId, msg.sender, price);
    }

    function cancel(uint256 tokenId) external {
        address seller = _listings[tokenId].seller;
        if (seller == address(0)) revert NotListed(tokenId);
        if (seller != msg.sender) revert NotSeller(tokenId, msg.sender);
        delete _listings[tokenId];
        emit ListingCancelled(tokenId, seller);
    }

    /// Pays exactly the listed price: the royalty goes to the creator, the rest to the seller.
    function buy(uint256 tokenId) external payable nonReentrant {
        Listing memory listing = _listings[tokenId];
        if (listing.seller == address(0)) revert NotListed(tokenId);
        if (listing.seller == msg.sender) revert OwnListing(tokenId);
        if (msg.value != listing.price) revert WrongPayment(msg.value, listing.price);

        delete _listings[tokenId];
        _transfer(listing.seller, msg.sender, tokenId);
        (address creator, uint256 royalty) = royaltyInfo(tokenId, listing.price);
        emit Sold(tokenId, listing.seller, msg.sender, listing.price, royalty);

        if (creator == listing.seller) {
            _pay(listing.seller, listing.price);
        } else {
            if (royalty > 0) _pay(creator, royalty);
            _pay(listing.seller, listing.price - royalty);
        }
    }

    // ---- internals -------------------------------------------------------------------

    /// Any transfer ends the token's listing (a purchase deletes it before transferring).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0)) {
            address seller = _listings[tokenId].seller;
            if (seller != address(0)) {
                delete _listings[tokenId];
                emit ListingCancelled(tokenId, seller);
            }
        }
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert PaymentFailed(to, amount);
    }

    /// Deploys the token's data contract; its code starts with 0x00 (STOP), so it cannot be called.
    function _writeData(string calldata name, string calldata model, string calldata description)
        private
        returns (address data)
    {
        bytes memory runtime = abi.encodePacked(
            hex"00", msg.sender, uint8(bytes(name).length), name, uint8(bytes(model).length), model, description
        );
        // PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN: returns the 12 bytes' tail as code.
        bytes memory init = abi.encodePacked(hex"61", uint16(runtime.length), hex"80600c6000396000f3", runtime);
        assembly ("memory-safe") {
            data := create(0, add(init, 0x20), mload(init))
        }
        if (data == address(0)) revert BadText("agent data", runtime.length, 0);
    }

    /// The creator: bytes 1..21 of the data contract's code.
    function _creator(address data) private view returns (address creator) {
        assembly ("memory-safe") {
            mstore(0x00, 0)
            extcodecopy(data, 0x00, 1, 20)
            creator := shr(96, mload(0x00))
        }
    }

    /// The name, model and description in a data contract's code.
    function _readData(address data)
        private
        view
        returns (string memory name, string memory model, string memory description)
    {
        bytes memory blob = data.code;
        uint256 pos;
        (name, pos) = _field(blob, 21, uint8(blob[21]));
        (model, pos) = _field(blob, pos, uint8(blob[pos]));
        (description,) = _field(blob, pos - 1, blob.length - pos);
    }

    /// `length` bytes of `blob` after the length byte at `lengthAt`, and where the next field starts.
    function _field(bytes memory blob, uint256 lengthAt, uint256 length)
        private
        pure
        returns (string memory text, uint256 next)
    {
        bytes memory out = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            out[i] = blob[lengthAt + 1 + i];
        }
        return (string(out), lengthAt + 1 + length);
    }

    function _checkText(string memory field, uint256 length, uint256 maxLength) private pure {
        if (length > maxLength) revert BadText(field, length, maxLength);
    }

    /// "b" + base32 (RFC 4648, lower case, no padding) of 0x01 0x55 0x12 0x20 ‖ hash.
    function _cid(bytes32 hash) private pure returns (string memory) {
        bytes memory raw = abi.encodePacked(bytes4(0x01551220), hash);
        bytes memory alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        bytes memory out = new bytes(59);
        out[0] = "b";
        for (uint256 i = 0; i < 58; ++i) {
            uint256 bit = i * 5;
            uint256 pos = bit / 8;
            uint256 word = uint256(uint8(raw[pos])) << 8;
            if (pos + 1 < raw.length) word |= uint256(uint8(raw[pos + 1]));
            out[i + 1] = alphabet[(word >> (11 - (bit % 8))) & 31];
        }
        return string(out);
    }
}
