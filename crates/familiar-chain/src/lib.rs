//! Familiar's chain client: the AgentNFT contract bindings (`contract`), the
//! local anvil node (`node`), the keystore wallet (`wallet`), transactions,
//! tokens and events (`client`), token URIs (`uri`) and the package gateways
//! (`gateway`). It keeps no database: the studio records what it needs.

pub mod client;
pub mod contract;
pub mod gateway;
pub mod node;
pub mod uri;
pub mod wallet;

pub use alloy::primitives::{Address, B256, Bytes, U256};
pub use alloy::signers::local::PrivateKeySigner;
pub use client::{
    AgentText, Chain, ChainError, ChainEvent, EventKind, FeeEstimate, Included, Network, Prepared, Token,
};
pub use node::{LocalNode, NodeError};
pub use wallet::{WalletError, Wallets};
