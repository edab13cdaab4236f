#!/usr/bin/env node
// Compiles the contracts with solc-js (pinned in package-lock.json) and writes one
// artifact per contract to out/<Name>.json: { abi, bytecode, deployedBytecode }.
// `node compile.js --check` compiles and fails if a committed artifact differs.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const here = __dirname;
const contracts = {
  "AgentNFT.sol": ["AgentNFT"],
  "bench/URIStorageMint.sol": ["URIStorageMint"],
  "bench/ERC721AMint.sol": ["ERC721AMint"],
  "test/ReentrantSeller.sol": ["ReentrantSeller"],
};

const input = {
  language: "Solidity",
  sources: Object.fromEntries(
    Object.keys(contracts).map((file) => [file, { content: fs.readFileSync(path.join(here, file), "utf8") }]),
  ),
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

function findImports(name) {
  try {
    return { contents: fs.readFileSync(path.join(here, "node_modules", name), "utf8") };
  } catch (e) {
    return { error: `import not found: ${name} (run npm ci in contracts/)` };
  }
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
// Warnings from our own sources only (OpenZeppelin notes its use of transient storage).
for (const e of output.errors || []) {
  const file = (e.sourceLocation && e.sourceLocation.file) || "";
  if (e.severity === "error" || !file.startsWith("@")) console.error(e.formattedMessage);
}
if (errors.length) process.exit(1);

const check = process.argv.includes("--check");
let stale = 0;
fs.mkdirSync(path.join(here, "out"), { recursive: true });
for (const [file, names] of Object.entries(contracts)) {
  for (const name of names) {
    const c = output.contracts[file][name];
    const artifact = {
      compiler: `solc-js ${solc.version()}`,
      abi: c.abi,
      bytecode: { object: "0x" + c.evm.bytecode.object },
      deployedBytecode: { object: "0x" + c.evm.deployedBytecode.object },
    };
    const text = JSON.stringify(artifact, null, 2) + "\n";
    const target = path.join(here, "out", `${name}.json`);
    if (check) {
      const committed = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
      if (committed !== text) {
        console.error(`contracts/out/${name}.json is stale: run 'npm run compile' in contracts/ and commit it`);
        stale += 1;
      }
    } else {
      fs.writeFileSync(target, text);
      console.log(`wrote out/${name}.json (${c.evm.deployedBytecode.object.length / 2} bytes of runtime code)`);
    }
  }
}
process.exit(stale ? 1 : 0);
