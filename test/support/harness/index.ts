/**
 * The one test harness (issue 19): the test app, `eventually`, fresh resources on chosen adapters,
 * fake gateway nodes, the domain env from a parsed config, and the builder that starts roles in
 * this process on them.
 */
export { ADMIN, APP_ID, APP_KEY, INTERNAL_SECRET, TEST_APP, testApps, userSign } from "./app.js";
export { testConfig } from "./config.js";
export { testDomainEnv } from "./domain-env.js";
export { eventually } from "./eventually.js";
export { FakeGateways, type Received } from "./fake-gateway.js";
export { type Harness, HarnessBuilder, type HarnessOptions, harness } from "./harness.js";
export {
  type Adapters,
  freshResources,
  postgresUrl,
  type ResourceOptions,
  type Resources,
  type TestDb,
  testLogger,
} from "./resources.js";
