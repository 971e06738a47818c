// Drives the vendors' own JavaScript clients, unmodified, against a running dialectgate.
// Usage: node run.mjs http://127.0.0.1:PORT KEY
// Prints one line per check and exits non-zero on the first failure.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const [base, key] = process.argv.slice(2);
const url = new URL(base);
// The EP SDK logs token noise through console.info; keep stdout for results.
console.info = () => {};

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAILED ${name}: ${e && e.stack ? e.stack : JSON.stringify(e)}`);
    process.exitCode = 1;
  }
}

function epClient(pkg) {
  const { gateway, MemoryStorageFactory } = require(pkg);
  // No custom authenticator: the SDK first asks the gateway's /oauth/access_token.
  return gateway({
    client_id: 'ci-client',
    client_secret: key,
    host: url.host,
    protocol: url.protocol.replace(':', ''),
    storage: new MemoryStorageFactory(),
    fetchMaxAttempts: 1,
  });
}

for (const pkg of ['@elasticpath/js-sdk', '@moltin/sdk']) {
  await check(`${pkg}: Customers.Update through the token flow`, async () => {
    const ep = epClient(pkg);
    const res = await ep.Customers.Update('cus_ada', { name: 'Ada King', email: `ada.${pkg.length}@example.com` });
    assert.equal(res.data.type, 'customer');
    assert.equal(res.data.id, 'cus_ada');
    assert.equal(res.data.name, 'Ada King');
    assert.equal(res.data.email, `ada.${pkg.length}@example.com`);
  });
  await check(`${pkg}: Customers.Get reads the customer back`, async () => {
    const ep = epClient(pkg);
    const res = await ep.Customers.Get('cus_ada');
    assert.equal(res.data.type, 'customer');
    assert.equal(res.data.id, 'cus_ada');
    assert.equal(res.data.name, 'Ada King');
    assert.equal(res.data.password, true, 'EP answers whether a password is set, never the secret');
    await assert.rejects(ep.Customers.Get('cus_nobody'), (body) => {
      assert.equal(body.errors[0].status, 404);
      return true;
    });
  });
  await check(`${pkg}: a missing customer rejects with EP's 404 body`, async () => {
    const ep = epClient(pkg);
    await assert.rejects(ep.Customers.Update('cus_nobody', { email: 'x@example.com' }), (body) => {
      assert.equal(body.errors[0].status, 404);
      return true;
    });
  });
  await check(`${pkg}: an invalid attribute rejects with EP's 400 body`, async () => {
    const ep = epClient(pkg);
    await assert.rejects(ep.Customers.Update('cus_ada', { external_ref: 'x'.repeat(2049) }), (body) => {
      assert.equal(body.errors[0].status, 400);
      assert.equal(body.errors[0].source, 'external_ref');
      return true;
    });
  });
}

const Medusa = require('@medusajs/medusa-js').default;
await check('@medusajs/medusa-js: admin.customers.update with an API key', async () => {
  const medusa = new Medusa({ baseUrl: base, maxRetries: 0, apiKey: key });
  const res = await medusa.admin.customers.update('cus_grace', { first_name: 'Grace', last_name: 'Murray', metadata: { rank: 'admiral' } });
  assert.equal(res.customer.id, 'cus_grace');
  assert.equal(res.customer.first_name, 'Grace');
  assert.equal(res.customer.last_name, 'Murray');
  assert.equal(res.customer.metadata.rank, 'admiral');
  assert.equal(res.response.status, 200);
});
await check('@medusajs/medusa-js: admin.customers.retrieve reads it back, with Medusa\'s default relations', async () => {
  const medusa = new Medusa({ baseUrl: base, maxRetries: 0, apiKey: key });
  const res = await medusa.admin.customers.retrieve('cus_grace');
  assert.equal(res.customer.id, 'cus_grace');
  assert.equal(res.customer.last_name, 'Murray');
  assert.equal(res.customer.metadata.rank, 'admiral');
  assert.ok(Array.isArray(res.customer.shipping_addresses));
  assert.equal(res.customer.deleted_at, null);
  await assert.rejects(medusa.admin.customers.retrieve('cus_nobody'), (err) => {
    assert.equal(err.response.status, 404);
    assert.equal(err.response.data.type, 'not_found');
    return true;
  });
});
await check('@medusajs/medusa-js: an unknown property is a 400 invalid_data', async () => {
  const medusa = new Medusa({ baseUrl: base, maxRetries: 0, apiKey: key });
  await assert.rejects(medusa.admin.customers.update('cus_grace', { billing_address: {} }), (err) => {
    assert.equal(err.response.status, 400);
    assert.equal(err.response.data.type, 'invalid_data');
    assert.equal(err.response.data.message, 'property billing_address should not exist');
    return true;
  });
});
await check('@medusajs/medusa-js: a wrong key is a text/plain 401', async () => {
  const medusa = new Medusa({ baseUrl: base, maxRetries: 0, apiKey: 'wrong' });
  await assert.rejects(medusa.admin.customers.update('cus_grace', { first_name: 'G' }), (err) => {
    assert.equal(err.response.status, 401);
    assert.equal(err.response.data, 'Unauthorized');
    return true;
  });
});
await check('@medusajs/medusa-js: with retries on, its Idempotency-Key is accepted', async () => {
  const medusa = new Medusa({ baseUrl: base, maxRetries: 1, apiKey: key });
  const res = await medusa.admin.customers.update('cus_alan', { phone: '+44 1234' });
  assert.equal(res.customer.phone, '+44 1234');
});
