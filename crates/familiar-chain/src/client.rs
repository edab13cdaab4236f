//! The chain client: reads tokens and listings, signs a transaction before it
//! is sent (so its hash and bytes can be recorded first and sent again after a
//! crash), follows it to its receipt, and reads the contract's events.

use std::time::{Duration, Instant};

use alloy::consensus::Transaction as _;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::signers::Signer as _;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEventInterface;
use alloy::transports::{RpcError, TransportErrorKind};
use serde::Serialize;

use crate::contract::{AgentNFT, AgentNFTErrors, explain};

pub use alloy::rpc::types::TransactionRequest;

/// Ether as a decimal string (`1.5`), without trailing zeros.
pub fn format_ether(wei: U256) -> String {
    let text = alloy::primitives::utils::format_ether(wei);
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_owned()
}

/// An amount of ether (`0.5`, `2`) in wei.
pub fn parse_ether(text: &str) -> Result<U256, ChainError> {
    alloy::primitives::utils::parse_ether(text.trim())
        .map_err(|_| ChainError::Invalid(format!("{text:?} is not an amount of ether (e.g. 0.5)")))
}

/// A chain and the AgentNFT contract on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    pub rpc_url: String,
    pub chain_id: u64,
    pub contract: Address,
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot reach the chain at {0}: {1} (is the node running? `familiar chain start` starts the local one)")]
    Unreachable(String, String),
    #[error("the node at {url} is chain {actual}, not chain {expected}")]
    WrongChain { url: String, expected: u64, actual: u64 },
    #[error("there is no AgentNFT contract at {0} on this chain")]
    NoContract(Address),
    #[error("{0}")]
    Reverted(String),
    #[error("the node refused the transaction: {0}")]
    Rpc(String),
    #[error("transaction {0} reverted")]
    Failed(B256),
    #[error("the wallet cannot pay: the transaction may cost up to {needed} wei and the balance is {balance} wei")]
    Insufficient { needed: U256, balance: U256 },
    #[error("{0}")]
    Invalid(String),
}

impl ChainError {
    /// Whether the node could not be reached at all (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ChainError::Unreachable(..))
    }
}

/// The gas a transaction will take and what it can cost at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FeeEstimate {
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    /// gas_limit × max_fee_per_gas: the most it can cost, in wei.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub max_fee_wei: U256,
}

/// A signed transaction, not yet sent.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub hash: B256,
    pub nonce: u64,
    pub raw: Bytes,
    pub value: U256,
    pub fee: FeeEstimate,
}

/// A transaction included in a block.
#[derive(Debug, Clone, Serialize)]
pub struct Included {
    pub hash: B256,
    pub block_number: u64,
    pub gas_used: u64,
    pub effective_gas_price: u128,
}

/// A minted token as the chain has it now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Token {
    /// The token id, which is the package's sha256.
    pub id: B256,
    pub owner: Address,
    pub creator: Address,
    pub royalty_bps: u16,
    pub token_uri: String,
    pub name: String,
    pub description: String,
    pub model: String,
    pub prompts_encrypted: bool,
    /// (seller, price in wei) when listed.
    pub listing: Option<(Address, U256)>,
}

/// One of the contract's events, where it happened.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChainEvent {
    pub block_number: u64,
    pub block_hash: B256,
    pub log_index: u64,
    pub tx_hash: B256,
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Minted { token: B256, creator: Address, royalty_bps: u16, signature: Bytes },
    Transfer { token: B256, from: Address, to: Address },
    Listed { token: B256, seller: Address, price: U256 },
    Cancelled { token: B256, seller: Address },
    Sold { token: B256, seller: Address, buyer: Address, price: U256, royalty: U256 },
}

/// A connection to a chain and the contract on it.
#[derive(Clone)]
pub struct Chain {
    provider: DynProvider,
    network: Network,
}

impl Chain {
    /// Connects and checks the chain id.
    pub async fn connect(network: Network) -> Result<Chain, ChainError> {
        let provider = connect(&network.rpc_url)?;
        let actual = provider.get_chain_id().await.map_err(|e| rpc_error(&network.rpc_url, e))?;
        if actual != network.chain_id {
            return Err(ChainError::WrongChain { url: network.rpc_url, expected: network.chain_id, actual });
        }
        Ok(Chain { provider, network })
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn contract(&self) -> AgentNFT::AgentNFTInstance<DynProvider> {
        AgentNFT::new(self.network.contract, self.provider.clone())
    }

    fn err(&self, e: RpcError<TransportErrorKind>) -> ChainError {
        rpc_error(&self.network.rpc_url, e)
    }

    /// Whether the contract's code is at its address.
    pub async fn has_contract(&self) -> Result<bool, ChainError> {
        let code = self.provider.get_code_at(self.network.contract).await.map_err(|e| self.err(e))?;
        Ok(!code.is_empty())
    }

    pub async fn balance(&self, address: Address) -> Result<U256, ChainError> {
        self.provider.get_balance(address).await.map_err(|e| self.err(e))
    }

    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.provider.get_block_number().await.map_err(|e| self.err(e))
    }

    /// The hash of block `number`, if the chain has it.
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        let block = self.provider.get_block_by_number(number.into()).await.map_err(|e| self.err(e))?;
        Ok(block.map(|b| b.header.hash))
    }

    /// The token with this id, or `None` if it was never minted.
    pub async fn token(&self, id: B256) -> Result<Option<Token>, ChainError> {
        let nft = self.contract();
        let token_id = U256::from_be_bytes(id.0);
        let owner = match nft.ownerOf(token_id).call().await {
            Ok(owner) => owner,
            Err(e) => {
                if let Some(AgentNFTErrors::ERC721NonexistentToken(_)) =
                    e.as_decoded_interface_error::<AgentNFTErrors>()
                {
                    return Ok(None);
                }
                return Err(contract_error(&self.network.rpc_url, e));
            }
        };
        let call_err = |e| contract_error(&self.network.rpc_url, e);
        let creator = nft.creatorOf(token_id).call().await.map_err(call_err)?;
        let data = nft.getAgentData(token_id).call().await.map_err(call_err)?;
        let token_uri = nft.tokenURI(token_id).call().await.map_err(call_err)?;
        let royalty = nft.royaltyInfo(token_id, U256::from(10_000)).call().await.map_err(call_err)?;
        let listing = nft.listingOf(token_id).call().await.map_err(call_err)?;
        Ok(Some(Token {
            id,
            owner,
            creator,
            royalty_bps: royalty._1.try_into().unwrap_or(u16::MAX),
            token_uri,
            name: data.name,
            description: data.description,
            model: data.model,
            prompts_encrypted: data.promptsEncrypted,
            listing: (listing.seller != Address::ZERO).then_some((listing.seller, listing.price)),
        }))
    }

    /// The mint call: the creator signs the content hash (EIP-191) with the same key.
    pub async fn mint_request(
        &self,
        signer: &PrivateKeySigner,
        content_hash: B256,
        royalty_bps: u16,
        agent: &AgentText,
    ) -> Result<(TransactionRequest, Bytes), ChainError> {
        let signature = sign_content_hash(signer, content_hash).await?;
        let request = self
            .contract()
            .mint(
                content_hash,
                royalty_bps,
                agent.prompts_encrypted,
                agent.name.clone(),
                agent.description.clone(),
                agent.model.clone(),
                signature.clone(),
            )
            .from(signer.address())
            .into_transaction_request();
        Ok((request, signature))
    }

    /// The transaction that deploys the AgentNFT contract.
    pub fn deploy_request(&self, from: Address) -> TransactionRequest {
        TransactionRequest::default().from(from).with_deploy_code(AgentNFT::BYTECODE.clone())
    }

    pub fn list_request(&self, from: Address, id: B256, price: U256) -> TransactionRequest {
        self.contract().list(U256::from_be_bytes(id.0), price).from(from).into_transaction_request()
    }

    pub fn cancel_request(&self, from: Address, id: B256) -> TransactionRequest {
        self.contract().cancel(U256::from_be_bytes(id.0)).from(from).into_transaction_request()
    }

    pub fn buy_request(&self, from: Address, id: B256, price: U256) -> TransactionRequest {
        self.contract().buy(U256::from_be_bytes(id.0)).from(from).value(price).into_transaction_request()
    }

    /// Estimates the gas (a revert is explained here, before anything is sent),
    /// checks the balance covers the worst case, and signs.
    pub async fn prepare(
        &self,
        signer: &PrivateKeySigner,
        request: TransactionRequest,
    ) -> Result<Prepared, ChainError> {
        let from = signer.address();
        let request = request.from(from).with_chain_id(self.network.chain_id);
        let gas = self.provider.estimate_gas(request.clone()).await.map_err(|e| self.err(e))?;
        let fees = self.provider.estimate_eip1559_fees().await.map_err(|e| self.err(e))?;
        let nonce = self.provider.get_transaction_count(from).pending().await.map_err(|e| self.err(e))?;
        // 20 % headroom: state can change between the estimate and inclusion.
        let gas_limit = gas + gas / 5;
        let value = request.value.unwrap_or_default();
        let fee = FeeEstimate {
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            max_fee_wei: U256::from(gas_limit) * U256::from(fees.max_fee_per_gas),
        };
        let balance = self.balance(from).await?;
        let needed = fee.max_fee_wei + value;
        if balance < needed {
            return Err(ChainError::Insufficient { needed, balance });
        }
        let request = request
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let wallet = EthereumWallet::from(signer.clone());
        let envelope = request.build(&wallet).await.map_err(|e| ChainError::Invalid(format!("could not sign: {e}")))?;
        Ok(Prepared {
            hash: *envelope.tx_hash(),
            nonce: envelope.nonce(),
            raw: envelope.encoded_2718().into(),
            value,
            fee,
        })
    }

    /// Sends a signed transaction. Sending one the node already has is not an error.
    pub async fn send(&self, raw: &Bytes) -> Result<(), ChainError> {
        match self.provider.send_raw_transaction(raw).await {
            Ok(_) => Ok(()),
            Err(RpcError::ErrorResp(payload))
                if payload.message.contains("already known") || payload.message.contains("already imported") =>
            {
                Ok(())
            }
            Err(e) => Err(self.err(e)),
        }
    }

    /// The transaction's receipt, if it is in a block.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ChainError> {
        self.provider.get_transaction_receipt(hash).await.map_err(|e| self.err(e))
    }

    /// Whether the node knows the transaction at all (in a block or waiting).
    pub async fn knows(&self, hash: B256) -> Result<bool, ChainError> {
        Ok(self.provider.get_transaction_by_hash(hash).await.map_err(|e| self.err(e))?.is_some())
    }

    /// Waits for the transaction's receipt; a reverted one is an error.
    pub async fn wait(&self, hash: B256, timeout: Duration) -> Result<Included, ChainError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                if !receipt.status() {
                    return Err(ChainError::Failed(hash));
                }
                return Ok(Included {
                    hash,
                    block_number: receipt.block_number.unwrap_or_default(),
                    gas_used: receipt.gas_used,
                    effective_gas_price: receipt.effective_gas_price,
                });
            }
            if Instant::now() > deadline {
                return Err(ChainError::Rpc(format!(
                    "transaction {hash} is not in a block after {} s; it may still be: run the command again to follow it",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The contract's events in blocks `from..=to`, in chain order.
    pub async fn events(&self, from: u64, to: u64) -> Result<Vec<ChainEvent>, ChainError> {
        let filter = Filter::new().address(self.network.contract).from_block(from).to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(logs.len());
        for log in logs {
            let (Some(block_number), Some(block_hash), Some(log_index), Some(tx_hash)) =
                (log.block_number, log.block_hash, log.log_index, log.transaction_hash)
            else {
                continue;
            };
            let Ok(decoded) = AgentNFT::AgentNFTEvents::decode_log(&log.inner) else { continue };
            use AgentNFT::AgentNFTEvents as Ev;
            let id = |t: U256| B256::from(t.to_be_bytes::<32>());
            let kind = match decoded.data {
                Ev::AgentMinted(e) => EventKind::Minted {
                    token: id(e.tokenId),
                    creator: e.creator,
                    royalty_bps: e.royaltyBps,
                    signature: e.signature,
                },
                Ev::Transfer(e) => EventKind::Transfer { token: id(e.tokenId), from: e.from, to: e.to },
                Ev::Listed(e) => EventKind::Listed { token: id(e.tokenId), seller: e.seller, price: e.price },
                Ev::ListingCancelled(e) => EventKind::Cancelled { token: id(e.tokenId), seller: e.seller },
                Ev::Sold(e) => EventKind::Sold {
                    token: id(e.tokenId),
                    seller: e.seller,
                    buyer: e.buyer,
                    price: e.price,
                    royalty: e.royalty,
                },
                _ => continue,
            };
            out.push(ChainEvent { block_number, block_hash, log_index, tx_hash, kind });
        }
        Ok(out)
    }

    /// Sets an account's balance: only on a local anvil node (its development faucet).
    pub async fn dev_fund(&self, address: Address, wei: U256) -> Result<(), ChainError> {
        self.provider.raw_request::<_, ()>("anvil_setBalance".into(), (address, wei)).await.map_err(|e| self.err(e))
    }
}

impl Chain {
    /// Saves the node's state (anvil, `evm_snapshot`); [`Chain::dev_revert`] goes back to it.
    pub async fn dev_snapshot(&self) -> Result<U256, ChainError> {
        self.provider.raw_request::<_, U256>("evm_snapshot".into(), ()).await.map_err(|e| self.err(e))
    }

    /// Drops every block since the snapshot: what a reorganisation does to a client.
    pub async fn dev_revert(&self, snapshot: U256) -> Result<(), ChainError> {
        self.provider
            .raw_request::<_, bool>("evm_revert".into(), (snapshot,))
            .await
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Mines `blocks` empty blocks (anvil).
    pub async fn dev_mine(&self, blocks: u64) -> Result<(), ChainError> {
        self.provider.raw_request::<_, ()>("anvil_mine".into(), (U256::from(blocks),)).await.map_err(|e| self.err(e))
    }

    /// Turns anvil's automatic mining on or off (off: transactions wait in the pool).
    pub async fn dev_automine(&self, on: bool) -> Result<(), ChainError> {
        self.provider.raw_request::<_, ()>("evm_setAutomine".into(), (on,)).await.map_err(|e| self.err(e))
    }
}

/// The text a token carries on chain (ERC-7662's agent data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentText {
    pub name: String,
    pub description: String,
    pub model: String,
    pub prompts_encrypted: bool,
}

/// Deploys the AgentNFT contract and returns its address.
pub async fn deploy(rpc_url: &str, signer: &PrivateKeySigner) -> Result<Address, ChainError> {
    let url = rpc_url.parse().map_err(|e| ChainError::Invalid(format!("bad RPC URL {rpc_url:?}: {e}")))?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer.clone())).connect_http(url);
    AgentNFT::deploy(&provider).await.map(|c| *c.address()).map_err(|e| contract_error(rpc_url, e))
}

/// The creator's EIP-191 signature of a package's content hash (65 bytes).
pub async fn sign_content_hash(signer: &PrivateKeySigner, content_hash: B256) -> Result<Bytes, ChainError> {
    let signature = signer
        .sign_message(content_hash.as_slice())
        .await
        .map_err(|e| ChainError::Invalid(format!("could not sign: {e}")))?;
    Ok(Bytes::from(signature.as_bytes().to_vec()))
}

/// The address whose key made an EIP-191 signature of the content hash.
pub fn signer_of(content_hash: B256, signature: &[u8]) -> Option<Address> {
    let signature = alloy::primitives::Signature::try_from(signature).ok()?;
    signature.recover_address_from_msg(content_hash.as_slice()).ok()
}

fn connect(rpc_url: &str) -> Result<DynProvider, ChainError> {
    let url = rpc_url.parse().map_err(|e| ChainError::Invalid(format!("bad RPC URL {rpc_url:?}: {e}")))?;
    Ok(ProviderBuilder::new().connect_http(url).erased())
}

fn rpc_error(url: &str, error: RpcError<TransportErrorKind>) -> ChainError {
    match error {
        RpcError::ErrorResp(payload) => match payload.as_decoded_interface_error::<AgentNFTErrors>() {
            Some(revert) => ChainError::Reverted(explain(&revert)),
            None => ChainError::Rpc(payload.message.to_string()),
        },
        RpcError::Transport(kind) => ChainError::Unreachable(url.to_owned(), kind.to_string()),
        other => ChainError::Rpc(other.to_string()),
    }
}

fn contract_error(url: &str, error: alloy::contract::Error) -> ChainError {
    if let Some(revert) = error.as_decoded_interface_error::<AgentNFTErrors>() {
        return ChainError::Reverted(explain(&revert));
    }
    match error {
        alloy::contract::Error::TransportError(e) => rpc_error(url, e),
        other => ChainError::Rpc(other.to_string()),
    }
}
