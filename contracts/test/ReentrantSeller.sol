// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IAgentMarket {
    function buy(uint256 tokenId) external payable;
    function list(uint256 tokenId, uint256 price) external;
}

/// Test only: a seller whose payment hook tries to buy another listing while
/// the marketplace is paying it (a reentrant call).
contract ReentrantSeller {
    IAgentMarket public immutable market;
    uint256 public target;
    uint256 public targetPrice;

    constructor(IAgentMarket market_) {
        market = market_;
    }

    function buy(uint256 tokenId) external payable {
        market.buy{value: msg.value}(tokenId);
    }

    function list(uint256 tokenId, uint256 price) external {
        market.list(tokenId, price);
    }

    /// Arms the hook; the value sent pays for the second purchase.
    function aim(uint256 tokenId, uint256 price) external payable {
        target = tokenId;
        targetPrice = price;
    }

    receive() external payable {
        if (target != 0) market.buy{value: targetPrice}(target);
    }
}
