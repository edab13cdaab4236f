//! The AgentNFT contract on a real anvil node, one per test on a free loopback
//! port: every function and every revert path.

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use familiar_chain::client::{sign_content_hash, signer_of};
use familiar_chain::contract::AgentNFT::{self, AgentNFTErrors, AgentNFTInstance};
use familiar_chain::node::anvil_binary;
use familiar_chain::uri::{cid_of_digest, parse_token_uri};

struct Node {
    _anvil: AnvilInstance,
    url: String,
    keys: Vec<PrivateKeySigner>,
    address: Address,
}

impl Node {
    async fn start() -> Node {
        let anvil = Anvil::at(anvil_binary().expect("anvil: run npm ci --prefix contracts")).spawn();
        let keys: Vec<PrivateKeySigner> = anvil.keys().iter().map(|k| PrivateKeySigner::from(k.clone())).collect();
        let url = anvil.endpoint();
        let address = familiar_chain::client::deploy(&url, &keys[0]).await.unwrap();
        Node { _anvil: anvil, url, keys, address }
    }

    /// The contract as seen by account `i`.
    fn as_account(&self, i: usize) -> AgentNFTInstance<DynProvider> {
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.keys[i].clone()))
            .connect_http(self.url.parse().unwrap())
            .erased();
        AgentNFT::new(self.address, provider)
    }

    fn who(&self, i: usize) -> Address {
        self.keys[i].address()
    }

    async fn balance(&self, i: usize) -> U256 {
        self.as_account(0).provider().get_balance(self.who(i)).await.unwrap()
    }

    /// Mints `hash` as account `i` with its own signature.
    async fn mint(&self, i: usize, hash: B256, royalty_bps: u16) -> U256 {
        let signature = sign_content_hash(&self.keys[i], hash).await.unwrap();
        let nft = self.as_account(i);
        let receipt =
            mint_call(&nft, hash, royalty_bps, "Ada", signature).send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status());
        U256::from_be_bytes(hash.0)
    }
}

fn mint_call<'a>(
    nft: &'a AgentNFTInstance<DynProvider>,
    hash: B256,
    royalty_bps: u16,
    name: &str,
    signature: Bytes,
) -> alloy::contract::SolCallBuilder<&'a DynProvider, AgentNFT::mintCall> {
    nft.mint(
        hash,
        royalty_bps,
        false,
        name.into(),
        "Tutor in computing history".into(),
        "SmolLM2-135M-Instruct".into(),
        signature,
    )
}

fn package_hash(seed: &str) -> B256 {
    keccak256(seed.as_bytes())
}

/// The contract error a call reverts with.
async fn revert<C: alloy::sol_types::SolCall>(
    call: alloy::contract::SolCallBuilder<&DynProvider, C>,
) -> AgentNFTErrors {
    let Err(error) = call.call().await else { panic!("the call should revert") };
    error.as_decoded_interface_error::<AgentNFTErrors>().unwrap_or_else(|| panic!("not a contract error: {error}"))
}

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test]
async fn a_mint_records_creator_royalty_agent_data_and_a_content_addressed_uri() {
    let node = Node::start().await;
    let hash = package_hash("ada-package");
    let id = node.mint(1, hash, 500).await;
    let nft = node.as_account(2);

    assert_eq!(nft.ownerOf(id).call().await.unwrap(), node.who(1));
    assert_eq!(nft.creatorOf(id).call().await.unwrap(), node.who(1));
    assert_eq!(nft.contentHash(id).call().await.unwrap(), hash);
    let uri = nft.tokenURI(id).call().await.unwrap();
    assert_eq!(uri, format!("ipfs://{}", cid_of_digest(&hash.0)), "the contract's base32 CID is the standard one");
    assert_eq!(parse_token_uri(&uri).unwrap().1, hash.0);
    let data = nft.getAgentData(id).call().await.unwrap();
    assert_eq!((data.name.as_str(), data.model.as_str()), ("Ada", "SmolLM2-135M-Instruct"));
    assert_eq!(data.description, "Tutor in computing history");
    assert_eq!((data.systemPromptURI, data.promptsEncrypted), (uri, false));
    let royalty = nft.royaltyInfo(id, U256::from(ETH)).call().await.unwrap();
    assert_eq!((royalty._0, royalty._1), (node.who(1), U256::from(ETH / 20)));

    for (interface, expected) in [("2a55205a", true), ("80ac58cd", true), ("5b5e139f", true), ("ffffffff", false)] {
        let id: [u8; 4] = hex::decode(interface).unwrap().try_into().unwrap();
        assert_eq!(nft.supportsInterface(id.into()).call().await.unwrap(), expected, "{interface}");
    }

    // The longest allowed text, in several scripts, comes back byte for byte.
    let long = package_hash("long");
    let (name, model) = (format!("{}abcd", "Ада 🦉 ".repeat(5)), "m".repeat(128));
    let description = "ü".repeat(256);
    assert_eq!((name.len(), description.len()), (64, 512));
    let signature = sign_content_hash(&node.keys[1], long).await.unwrap();
    let creator = node.as_account(1);
    let call = creator.mint(long, 0, true, name.clone(), description.clone(), model.clone(), signature);
    call.send().await.unwrap().get_receipt().await.unwrap();
    let data = nft.getAgentData(U256::from_be_bytes(long.0)).call().await.unwrap();
    assert_eq!((data.name, data.model, data.description, data.promptsEncrypted), (name, model, description, true));
    assert_eq!(nft.royaltyInfo(U256::from_be_bytes(long.0), U256::from(ETH)).call().await.unwrap()._1, U256::ZERO);

    let logs = nft.AgentMinted_filter().from_block(0).query().await.unwrap();
    let (event, _) = &logs[0];
    assert_eq!((event.tokenId, event.creator, event.royaltyBps), (id, node.who(1), 500));
    assert_eq!(signer_of(hash, &event.signature), Some(node.who(1)), "the log carries the creator's signature");
}

#[tokio::test]
async fn mints_with_a_bad_signature_a_high_royalty_bad_text_or_twice_revert() {
    let node = Node::start().await;
    let hash = package_hash("ada-package");
    let nft = node.as_account(1);
    let own = sign_content_hash(&node.keys[1], hash).await.unwrap();

    let other_key = sign_content_hash(&node.keys[2], hash).await.unwrap();
    assert!(matches!(revert(mint_call(&nft, hash, 500, "Ada", other_key)).await, AgentNFTErrors::BadSignature(_)));
    let other_hash = sign_content_hash(&node.keys[1], package_hash("other")).await.unwrap();
    assert!(matches!(revert(mint_call(&nft, hash, 500, "Ada", other_hash)).await, AgentNFTErrors::BadSignature(_)));
    let garbage = Bytes::from(vec![1u8; 12]);
    assert!(matches!(
        revert(mint_call(&nft, hash, 500, "Ada", garbage)).await,
        AgentNFTErrors::ECDSAInvalidSignatureLength(_)
    ));

    match revert(mint_call(&nft, hash, 1001, "Ada", own.clone())).await {
        AgentNFTErrors::RoyaltyTooHigh(e) => assert_eq!((e.royaltyBps, e.maxBps), (U256::from(1001), U256::from(1000))),
        other => panic!("{other:?}"),
    }
    assert!(matches!(revert(mint_call(&nft, hash, 500, "", own.clone())).await, AgentNFTErrors::BadText(_)));
    assert!(matches!(
        revert(mint_call(&nft, hash, 500, &"x".repeat(65), own.clone())).await,
        AgentNFTErrors::BadText(_)
    ));

    // The cap itself is allowed, and a package is minted once.
    node.mint(1, hash, 1000).await;
    assert!(matches!(revert(mint_call(&nft, hash, 0, "Ada", own)).await, AgentNFTErrors::AlreadyMinted(_)));
}

#[tokio::test]
async fn a_sale_pays_the_royalty_to_the_creator_and_the_rest_to_the_seller() {
    let node = Node::start().await;
    let (creator, reseller, buyer) = (1, 2, 3);
    let id = node.mint(creator, package_hash("ada"), 750).await;

    // Primary sale: the creator sells, and receives the whole price.
    let price = U256::from(2 * ETH);
    node.as_account(creator).list(id, price).send().await.unwrap().get_receipt().await.unwrap();
    let (seller, listed) = node.as_account(buyer).listingOf(id).call().await.unwrap().into();
    assert_eq!((seller, listed), (node.who(creator), price));
    let before = node.balance(creator).await;
    node.as_account(reseller).buy(id).value(price).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(node.balance(creator).await - before, price);
    assert_eq!(node.as_account(0).ownerOf(id).call().await.unwrap(), node.who(reseller));

    // Secondary sale: 7.5 % to the creator, the rest to the seller, exactly.
    let price = U256::from(3 * ETH);
    node.as_account(reseller).list(id, price).send().await.unwrap().get_receipt().await.unwrap();
    let (creator_before, seller_before) = (node.balance(creator).await, node.balance(reseller).await);
    let receipt = node.as_account(buyer).buy(id).value(price).send().await.unwrap().get_receipt().await.unwrap();
    let royalty = price * U256::from(750) / U256::from(10_000);
    assert_eq!(node.balance(creator).await - creator_before, royalty);
    assert_eq!(node.balance(reseller).await - seller_before, price - royalty);
    assert_eq!(node.as_account(0).ownerOf(id).call().await.unwrap(), node.who(buyer));
    let sold = receipt.decoded_log::<AgentNFT::Sold>().expect("a Sold event");
    assert_eq!(
        (sold.seller, sold.buyer, sold.price, sold.royalty),
        (node.who(reseller), node.who(buyer), price, royalty)
    );

    // Double buy: the listing is gone.
    assert!(matches!(revert(node.as_account(4).buy(id).value(price)).await, AgentNFTErrors::NotListed(_)));
}

#[tokio::test]
async fn listing_buying_and_cancelling_refuse_what_is_not_allowed() {
    let node = Node::start().await;
    let id = node.mint(1, package_hash("ada"), 500).await;
    let price = U256::from(ETH);
    let missing = U256::from_be_bytes(package_hash("never minted").0);

    assert!(matches!(revert(node.as_account(2).list(id, price)).await, AgentNFTErrors::NotTokenOwner(_)));
    assert!(matches!(revert(node.as_account(2).list(missing, price)).await, AgentNFTErrors::ERC721NonexistentToken(_)));
    assert!(matches!(revert(node.as_account(1).list(id, U256::ZERO)).await, AgentNFTErrors::BadPrice(_)));
    assert!(matches!(revert(node.as_account(1).list(id, U256::from(1u128 << 96))).await, AgentNFTErrors::BadPrice(_)));
    assert!(matches!(revert(node.as_account(2).buy(id).value(price)).await, AgentNFTErrors::NotListed(_)));
    assert!(matches!(revert(node.as_account(1).cancel(id)).await, AgentNFTErrors::NotListed(_)));

    node.as_account(1).list(id, price).send().await.unwrap().get_receipt().await.unwrap();
    assert!(matches!(revert(node.as_account(1).buy(id).value(price)).await, AgentNFTErrors::OwnListing(_)));
    assert!(matches!(
        revert(node.as_account(2).buy(id).value(price - U256::from(1))).await,
        AgentNFTErrors::WrongPayment(_)
    ));
    assert!(matches!(revert(node.as_account(2).buy(id)).await, AgentNFTErrors::WrongPayment(_)));
    assert!(matches!(revert(node.as_account(2).cancel(id)).await, AgentNFTErrors::NotSeller(_)));

    node.as_account(1).cancel(id).send().await.unwrap().get_receipt().await.unwrap();
    assert!(matches!(revert(node.as_account(2).buy(id).value(price)).await, AgentNFTErrors::NotListed(_)));
}

#[tokio::test]
async fn a_token_given_away_after_listing_can_no_longer_be_bought_from_its_old_owner() {
    let node = Node::start().await;
    let id = node.mint(1, package_hash("ada"), 500).await;
    let price = U256::from(ETH);
    node.as_account(1).list(id, price).send().await.unwrap().get_receipt().await.unwrap();
    let receipt = node
        .as_account(1)
        .transferFrom(node.who(1), node.who(2), id)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.decoded_log::<AgentNFT::ListingCancelled>().is_some());
    assert!(matches!(revert(node.as_account(3).buy(id).value(price)).await, AgentNFTErrors::NotListed(_)));
    // The new owner may list it; the old one may not.
    assert!(matches!(revert(node.as_account(1).list(id, price)).await, AgentNFTErrors::NotTokenOwner(_)));
    node.as_account(2).list(id, price).send().await.unwrap().get_receipt().await.unwrap();
}

#[tokio::test]
async fn a_seller_that_re_enters_the_market_while_being_paid_only_blocks_its_own_sale() {
    use familiar_chain::contract::reference::ReentrantSeller;
    let node = Node::start().await;
    let (x, y) = (node.mint(1, package_hash("x"), 500).await, node.mint(1, package_hash("y"), 500).await);
    let price = U256::from(ETH);
    let creator = node.as_account(1);
    creator.list(x, price).send().await.unwrap().get_receipt().await.unwrap();
    creator.list(y, price).send().await.unwrap().get_receipt().await.unwrap();

    // The attacker's contract buys x, lists it, and aims its payment hook at y.
    let attacker = ReentrantSeller::deploy(node.as_account(2).provider().clone(), node.address).await.unwrap();
    attacker.buy(x).value(price).send().await.unwrap().get_receipt().await.unwrap();
    attacker.list(x, price).send().await.unwrap().get_receipt().await.unwrap();
    attacker.aim(y, price).value(price).send().await.unwrap().get_receipt().await.unwrap();

    // Paying the attacker re-enters buy(y) with the right price: only the guard stops it, and the
    // whole purchase reverts.
    let buyer = node.as_account(3);
    match revert(buyer.buy(x).value(price)).await {
        AgentNFTErrors::PaymentFailed(e) => assert_eq!(e.to, *attacker.address()),
        other => panic!("{other:?}"),
    }
    assert_eq!(buyer.ownerOf(x).call().await.unwrap(), *attacker.address());
    assert_eq!(buyer.ownerOf(y).call().await.unwrap(), node.who(1));
    assert_eq!(buyer.listingOf(y).call().await.unwrap().price, price, "y is still for sale");
}
