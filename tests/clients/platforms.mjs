// Drives the real platforms' own JavaScript clients, unmodified, against a running dialectgate
// (tests/e2e/platform_clients.rs starts it in front of another vendor's store).
// Usage: node platforms.mjs CLIENT http://127.0.0.1:PORT KEY ID
//   CLIENT: commercetools | shopify | bigcommerce
// Prints one line per check ("ok …" or "FAILED …") and exits non-zero on a failure.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const [client, base, key, id] = process.argv.slice(2);
const gateway = new URL(base);

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAILED ${name}: ${e && e.stack ? e.stack : JSON.stringify(e)}`);
    if (e && e.body) console.log(`  body: ${JSON.stringify(e.body)}`);
    if (e && e.responseBody) console.log(`  body: ${e.responseBody}`);
    process.exitCode = 1;
  }
}

if (client === 'commercetools') {
  const { ClientBuilder } = require('@commercetools/ts-client');
  const { createApiBuilderFromCtpClient } = require('@commercetools/platform-sdk');
  const projectKey = 'demo-project';
  // The documented builder: its auth middleware asks the gateway's POST /oauth/token with HTTP
  // Basic client authentication, then calls with the Bearer token it got.
  const ctp = new ClientBuilder()
    .withClientCredentialsFlow({
      host: base,
      projectKey,
      credentials: { clientId: 'ci-client', clientSecret: key },
      httpClient: fetch,
    })
    .withHttpMiddleware({ host: base, httpClient: fetch })
    .build();
  const api = createApiBuilderFromCtpClient(ctp).withProjectKey({ projectKey });
  let version;
  await check('@commercetools/platform-sdk: customers().withId().get() reads the customer and its version', async () => {
    const res = await api.customers().withId({ ID: id }).get().execute();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.id, id);
    assert.equal(typeof res.body.version, 'number');
    version = res.body.version;
  });
  await check('@commercetools/platform-sdk: customers().withId().post({version, actions}) updates it', async () => {
    const res = await api.customers().withId({ ID: id }).post({
      body: {
        version,
        actions: [
          { action: 'setFirstName', firstName: 'Leslie' },
          { action: 'setLastName', lastName: 'Knope' },
          { action: 'changeEmail', email: 'leslie@pawnee.gov' },
        ],
      },
    }).execute();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.id, id);
    assert.equal(res.body.firstName, 'Leslie');
    assert.equal(res.body.lastName, 'Knope');
    assert.equal(res.body.email, 'leslie@pawnee.gov');
    assert.equal(res.body.isEmailVerified, false, 'changeEmail resets isEmailVerified');
  });
  await check('@commercetools/platform-sdk: get() reads the change back', async () => {
    const res = await api.customers().withId({ ID: id }).get().execute();
    assert.equal(res.body.firstName, 'Leslie');
    assert.equal(res.body.email, 'leslie@pawnee.gov');
  });
  await check('@commercetools/platform-sdk: an unknown customer rejects with 404 ResourceNotFound', async () => {
    await assert.rejects(api.customers().withId({ ID: 'nobody' }).get().execute(), (err) => {
      assert.equal(err.statusCode, 404);
      assert.equal(err.body.errors[0].code, 'ResourceNotFound');
      return true;
    });
  });
} else if (client === 'shopify') {
  const { createAdminApiClient } = require('@shopify/admin-api-client');
  // The client always builds https://<storeDomain>/admin/api/<version>/graphql.json (it forces
  // https); its documented customFetchApi option gets the URL it built, and only the origin is
  // rewritten to the gateway's plain-http one.
  const shopify = createAdminApiClient({
    storeDomain: 'dialectgate-e2e.myshopify.com',
    apiVersion: '2025-07',
    accessToken: key,
    customFetchApi: (url, init) => fetch(String(url).replace(/^https:\/\/[^/]+/, gateway.origin), init),
    logger: () => {},
  });
  const gid = `gid://shopify/Customer/${id}`;
  const update = `mutation customerUpdate($input: CustomerInput!) {
  customerUpdate(input: $input) {
    customer { id firstName lastName email phone tags updatedAt }
    userErrors { field message }
  }
}`;
  const read = `query ($id: ID!) { customer(id: $id) { id legacyResourceId firstName lastName
  defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } tags note updatedAt } }`;
  await check('@shopify/admin-api-client: request(customerUpdate) updates the customer', async () => {
    const res = await shopify.request(update, { variables: { input: { id: gid, firstName: 'Tobi', lastName: 'Lutke' } } });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.deepEqual(res.data.customerUpdate.userErrors, []);
    assert.equal(res.data.customerUpdate.customer.id, gid);
    assert.equal(res.data.customerUpdate.customer.firstName, 'Tobi');
    assert.equal(res.data.customerUpdate.customer.lastName, 'Lutke');
  });
  await check('@shopify/admin-api-client: request(customer(id:)) reads it back', async () => {
    const res = await shopify.request(read, { variables: { id: gid } });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(res.data.customer.id, gid);
    assert.equal(res.data.customer.firstName, 'Tobi');
    assert.equal(res.data.customer.lastName, 'Lutke');
  });
  await check('@shopify/admin-api-client: an unknown customer is the documented user error, and null on a read', async () => {
    const res = await shopify.request(update, { variables: { input: { id: 'gid://shopify/Customer/999', firstName: 'X' } } });
    assert.equal(res.data.customerUpdate.customer, null);
    assert.deepEqual(res.data.customerUpdate.userErrors, [{ field: ['id'], message: 'Customer does not exist' }]);
    const got = await shopify.request(read, { variables: { id: 'gid://shopify/Customer/999' } });
    assert.equal(got.data.customer, null);
  });
} else if (client === 'bigcommerce') {
  const BigCommerce = require('node-bigcommerce');
  const https = require('node:https');
  const net = require('node:net');
  // node-bigcommerce always calls https://api.bigcommerce.com:443 and has no host option; its
  // `agent` option (passed to https.request) is used to open a plain TCP connection to the
  // gateway instead: the HTTP request it writes is unchanged.
  const agent = new https.Agent();
  agent.createConnection = () => net.connect(Number(gateway.port), gateway.hostname);
  const bc = new BigCommerce({
    clientId: 'ci-client',
    accessToken: key,
    storeHash: 'teststore',
    responseType: 'json',
    apiVersion: 'v3',
    agent,
    headers: { 'Accept-Encoding': 'identity' },
  });
  const num = Number(id);
  await check("node-bigcommerce: put('/customers', [...]) updates the customer", async () => {
    const res = await bc.put('/customers', [{ id: num, email: 'janedoe@example.com', first_name: 'Jane', last_name: 'Doe' }]);
    assert.equal(res.data.length, 1);
    assert.equal(res.data[0].id, num);
    assert.equal(res.data[0].email, 'janedoe@example.com');
    assert.equal(res.data[0].first_name, 'Jane');
    assert.equal(res.data[0].last_name, 'Doe');
    assert.deepEqual(res.meta, {});
  });
  await check("node-bigcommerce: get('/customers?id:in=…') reads it back", async () => {
    const res = await bc.get(`/customers?id:in=${num}`);
    assert.equal(res.data.length, 1);
    assert.equal(res.data[0].id, num);
    assert.equal(res.data[0].last_name, 'Doe');
  });
  await check("node-bigcommerce: get('/customers?id:in=<unknown>') is an empty collection", async () => {
    const res = await bc.get('/customers?id:in=999');
    assert.deepEqual(res.data, []);
  });
  await check('node-bigcommerce: eleven customers in one put are refused with the 413 naming the limit, nothing written', async () => {
    // Eleven: over BigCommerce's own limit of 10, and over any smaller one the gateway keeps.
    const items = Array.from({ length: 11 }, (_, i) => ({ id: num, first_name: `Janet ${i}` }));
    await assert.rejects(bc.put('/customers', items), (err) => {
      assert.equal(err.code, 413);
      assert.match(JSON.parse(err.responseBody).title, /^The request payload is too large\. The maximum items allowed in the array is \d+\.$/);
      return true;
    });
    const res = await bc.get(`/customers?id:in=${num}`);
    assert.equal(res.data[0].first_name, 'Jane');
  });
} else {
  console.log(`FAILED unknown client ${client}`);
  process.exitCode = 2;
}
