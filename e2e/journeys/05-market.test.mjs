// Owning and trading an agent on the local chain: the creator makes a wallet
// in the app, starts the local chain, mints Ada and lists her for sale; the
// marketplace shows the token with its price and royalty; a second account
// (a wallet made with the command line in the same data folder) buys her in
// the app, seeing the price, the creator's royalty and the fee before paying;
// the import, verified against the chain, puts Ada in the library with her
// provenance.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStudio, PASSPHRASE, PATIENCE } from '../support/studio.mjs';
import { attributes, capture, openScreen, seen, texts } from '../support/ui.mjs';

/** The open dialog titled `title` (a modal or a confirmation). */
async function dialog(browser, title, timeout = PATIENCE) {
  const el = await browser.$(
    `//div[@aria-modal="true"][.//h2[normalize-space()="${title}"]]`,
  );
  await el.waitForDisplayed({ timeout, timeoutMsg: `no dialog "${title}"` });
  return el;
}

/** Clicks a dialog's button by its text. */
async function press(dialogElement, text) {
  const button = await dialogElement.$(`.//footer//button[normalize-space()="${text}"]`);
  await button.waitForEnabled({ timeout: PATIENCE });
  await button.click();
}

/** Fills the transaction form's passphrase and sends it for review; answers the plan's confirmation. */
async function signAndConfirm(browser, form, confirmTitle, confirmLabel, check) {
  await form.$('[data-testid="passphrase-input"]').setValue(PASSPHRASE);
  await form.$('[data-testid="tx-submit"]').click();
  const plan = await dialog(browser, confirmTitle, 3 * PATIENCE);
  if (check) await check(plan);
  await press(plan, confirmLabel);
  await form.$('[data-testid="tx-result"]').waitForExist({ timeout: 3 * PATIENCE, timeoutMsg: `"${confirmTitle}" did not finish` });
}

const same = (a, b) => a.toLowerCase() === b.toLowerCase();

describe('minting, selling, buying and importing an agent', () => {
  /** @type {import('../support/studio.mjs').Studio} */
  let studio;
  let buyer = '';
  let creator = '';
  before(async () => {
    studio = await openStudio('market');
    // The second account: a wallet made with the command line (FAMILIAR_PASSPHRASE) in the same data folder.
    buyer = (await studio.cli(['wallet', 'new', '--json'])).address;
  });
  after(async () => {
    await studio?.close();
  });

  it('creates the creator’s wallet in Wallet & network, with a passphrase typed twice', async () => {
    const { browser } = studio;
    await openScreen(browser, 'Wallet & network');
    await browser.$('[data-testid="create-wallet-button"]').click();
    const create = await dialog(browser, 'Create a wallet');
    await create.$('[data-testid="passphrase-input"]').setValue(PASSPHRASE);
    await create.$('[data-testid="passphrase-confirm-input"]').setValue(PASSPHRASE);
    await create.$('[data-testid="create-wallet-submit"]').click();
    const address = await create.$('[data-testid="new-wallet-address"]');
    await address.waitForExist({ timeout: PATIENCE, timeoutMsg: 'the wallet was not created' });
    creator = await seen(address);
    assert.match(creator, /^0x[0-9a-fA-F]{40}$/);
    await press(create, 'Done');
    await browser.waitUntil(async () => (await texts(browser, '[data-testid="wallet-row"]')).length === 2, {
      timeout: PATIENCE,
      timeoutMsg: 'the two wallets are not listed',
    });
    const listed = await texts(browser, '[data-testid="wallet-address"]');
    assert.ok(listed.some((a) => same(a, creator)) && listed.some((a) => same(a, buyer)), `wallets: ${listed}`);
  });

  it('starts the local chain and mints Ada with a 5 % royalty, then lists her for 0.5 ETH', async () => {
    const { browser } = studio;
    await openScreen(browser, 'Marketplace');
    const start = await browser.$('[data-testid="start-chain-button"]');
    await start.waitForExist({ timeout: PATIENCE, timeoutMsg: 'the marketplace does not offer to start the chain' });
    await start.click();
    await browser.$('//*[self::h2 or self::h3][normalize-space()="Nothing minted yet"]').waitForExist({ timeout: 3 * PATIENCE, timeoutMsg: 'the chain did not start' });

    await browser.$('[data-testid="mint-button"]').click();
    const mint = await dialog(browser, 'Mint an agent');
    await mint.$('[data-testid="mint-agent-select"]').selectByVisibleText('Ada');
    await mint.$('[data-testid="royalty-input"]').setValue('5');
    const signers = await mint.$('[data-testid="wallet-select"]');
    const values = await attributes(browser, '[data-testid="wallet-select"] option', 'value');
    await signers.selectByAttribute('value', values.find((v) => same(v, creator)) ?? creator);
    await signAndConfirm(browser, mint, 'Mint Ada?', 'Mint', async (plan) => {
      assert.match(await seen(plan.$('[data-testid="amount-royalty-rate"]')), /^5% of each resale$/);
      assert.match(await seen(plan.$('[data-testid="amount-fee"]')), /ETH/);
    });
    assert.match(await seen(mint.$('[data-testid="tx-result"]')), /Minted\./);
    const token = await seen(mint.$('[data-testid="mint-token"]'));
    assert.match(token, /^0x[0-9a-f]{64}$/i);

    await mint.$('[data-testid="sell-minted-button"]').click();
    const sell = await dialog(browser, 'Sell Ada');
    assert.ok(same(await seen(sell.$('[data-testid="signer-wallet"]')), creator), 'the creator signs the listing');
    await sell.$('[data-testid="price-input"]').setValue('0.5');
    await signAndConfirm(browser, sell, 'List Ada for 0.5 ETH?', 'List for sale');
    assert.match(await seen(sell.$('[data-testid="tx-result"]')), /Ada is for sale at 0\.5 ETH/);
    await press(sell, 'Done');
  });

  it('shows Ada in the marketplace with her price, royalty, creator and owner', async () => {
    const { browser } = studio;
    const row = await browser.$('[data-testid="token-row"][data-name="Ada"]');
    await row.waitForExist({ timeout: PATIENCE });
    await browser.waitUntil(async () => (await row.$('[data-testid="token-price"]').isExisting()), {
      timeout: PATIENCE,
      timeoutMsg: 'Ada is not shown for sale',
    });
    assert.equal(await seen(row.$('[data-testid="token-price"]')), 'For sale · 0.5 ETH');
    const text = await seen(row);
    assert.match(text, /Royalty\s+5% of each resale, to the creator/);
    assert.match(text, /Creator\s+0x[0-9a-fA-F]{4}.*\(you\)/);
    await capture(browser, 'marketplace');
  });

  it('lets the second account buy Ada, showing the price, the creator’s royalty and the fee first', async () => {
    const { browser } = studio;
    const row = await browser.$('[data-testid="token-row"][data-name="Ada"]');
    await row.$('[data-testid="buy-button"]').click();
    const buy = await dialog(browser, 'Buy Ada');
    assert.ok(same(await seen(buy.$('[data-testid="signer-wallet"]')), buyer), 'the buyer’s wallet pays');
    await signAndConfirm(browser, buy, 'Buy Ada?', 'Buy for 0.5 ETH', async (plan) => {
      assert.equal(await seen(plan.$('[data-testid="amount-price"]')), '0.5 ETH');
      assert.match(await seen(plan.$('[data-testid="amount-fee"]')), /ETH/);
      // A first sale by the creator: the royalty row is there, and says why it is nothing.
      assert.match(await seen(plan), /Creator's royalty 0 ETH none on this sale: the creator is the seller/);
      assert.match(await seen(plan.$('[data-testid="amount-total"]')), /^up to 0\.5\d* ETH$/);
    });
    assert.match(await seen(buy.$('[data-testid="tx-result"]')), /You paid 0\.5 ETH/);
    await dialog(browser, 'You own Ada');

    // Import it from the receipt: fetched, checked against the chain, into the library.
    await buy.$('[data-testid="import-now-button"]').click();
    const imported = await row.$('[data-testid="import-result"]');
    await imported.waitForExist({ timeout: 3 * PATIENCE, timeoutMsg: 'the import did not finish' });
    const report = await seen(imported);
    assert.match(report, /Imported as Ada, verified against the chain/);
    assert.match(report, new RegExp(`Creator\\s+${creator}`, 'i'));
    assert.match(report, new RegExp(`Owner\\s+${buyer}`, 'i'));
    assert.match(report, /Chain\s+31337/);
    assert.ok(same(await row.$('[data-testid="token-owner"]').getAttribute('title'), buyer), 'the buyer owns Ada now');
  });

  it('shows the bought Ada in the library, from the marketplace, beside the original', async () => {
    const { browser } = studio;
    await openScreen(browser, 'Library');
    await browser.waitUntil(async () => (await texts(browser, '[data-testid="agent-card"]')).length === 5, {
      timeout: PATIENCE,
      timeoutMsg: 'the library does not list five agents',
    });
    const cards = await browser.execute(() =>
      Array.from(document.querySelectorAll('[data-testid="agent-card"]'))
        .filter((card) => card.querySelector('h3')?.textContent?.trim() === 'Ada')
        .map((card) => (card.textContent ?? '').replace(/\s+/g, ' ')),
    );
    assert.equal(cards.length, 2, 'two Adas');
    assert.ok(cards.some((t) => t.includes('From the marketplace')), `one came from the marketplace: ${cards}`);
    assert.ok(cards.some((t) => t.includes('Sample')), 'the original stays');
  });

  it('shows both wallets with their balances in Wallet & network', async () => {
    const { browser } = studio;
    await openScreen(browser, 'Wallet & network');
    await browser.waitUntil(
      async () => {
        const balances = await texts(browser, '[data-testid="wallet-balance"]');
        return balances.length === 2 && balances.every((b) => /ETH/.test(b));
      },
      { timeout: PATIENCE, timeoutMsg: 'the balances are not shown' },
    );
    await capture(browser, 'wallet');
  });
});
