/**
 * Latchkey, one stack. Reads like the architecture:
 *
 *   Storage (DynamoDB table, KMS-encrypted key bucket)
 *   HttpApi ──> Edge (CloudFront: the issuer URL; /.well-known/* cached)
 *   Router (one image, two functions: api, rotation) ──> HttpApi routes
 *   Rotation (EventBridge Scheduler, failures to a DLQ; deploy-time ensure-keys)
 *   ServiceClients (declared clients, credentials to Secrets Manager)
 *   Monitoring (alarms to the alarm topic, the key-age report, one dashboard)
 *   ExampleProtectedApi (dev: a JWT-authorized route proving the loop)
 *
 * The HTTP API resource comes first and the integration later, so CloudFront's URL (the
 * issuer) can be handed to the functions without a dependency cycle.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readConfig } from "./config.js";
import { Storage } from "./storage.js";
import { HttpApi } from "./api.js";
import { Edge } from "./edge.js";
import { Router } from "./router.js";
import { Rotation } from "./rotation.js";
import { ServiceClients, ServiceClientSecrets } from "./service-clients.js";
import { ExampleProtectedApi } from "./authorizer.js";
import { Monitoring } from "./monitoring.js";

const config = readConfig();
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const storage = new Storage("storage", { prefix: config.prefix, protect: config.protect });
const api = new HttpApi("http", { config });
const edge = new Edge("edge", { config, apiHost: api.host });
const clientSecrets = new ServiceClientSecrets("service-client-secrets", { config });
const router = new Router("router", {
  config,
  storage,
  issuer: edge.issuerUrl,
  clientSecretArns: clientSecrets.secrets.map((s) => s.arn),
  context: repoRoot,
});
api.connect(router.api, config);
const rotation = new Rotation("rotation", {
  config,
  rotationFunction: router.rotation,
  rotationRole: router.rotationRole,
  imageUri: router.imageUri,
});
new ServiceClients("service-clients", {
  clients: config.serviceClients,
  secrets: clientSecrets.secrets,
  rotationFunction: router.rotation,
  after: [rotation.ensureKeys],
});
const monitoring = new Monitoring("monitoring", {
  config,
  functions: { api: router.api, rotation: router.rotation },
  rotationFunction: router.rotation,
  apiId: api.api.id,
  distributionId: edge.distribution.id,
  otherAlarms: [rotation.failureAlarm],
});
const example = config.exampleProtectedRoute
  ? new ExampleProtectedApi("example", { prefix: config.prefix, issuer: edge.issuerUrl, audience: config.userAudiences[0]!, logRetentionDays: config.logRetentionDays })
  : undefined;

export const issuerUrl = edge.issuerUrl;
export const jwksUrl = edge.issuerUrl.apply((u) => `${u}/.well-known/jwks.json`);
export const tokenEndpoint = edge.issuerUrl.apply((u) => `${u}/token`);
export const apiUrl = api.url;
export const tableName = storage.table.name;
export const bucketName = storage.bucket.bucket;
export const serviceClientSecrets = clientSecrets.secrets.map((s) => s.name);
/** Paste into an API Gateway JWT authorizer: issuer and audience. */
export const jwtAuthorizer = { issuer: edge.issuerUrl, audience: config.userAudiences[0]! };
export const exampleProtectedUrl = example?.url;
export const rotationSchedule = rotation.schedule.name;
/** One CloudWatch dashboard with issuance, failures, key age and every alarm. */
export const dashboardUrl = monitoring.dashboardUrl;
