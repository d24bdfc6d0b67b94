/**
 * Latchkey, one stack. Reads like the architecture:
 *
 *   Storage (DynamoDB table, KMS-encrypted key bucket, public-documents bucket)
 *   HttpApi ──> Edge (CloudFront: the issuer URL; /.well-known/* from the documents bucket,
 *               failing over to the API; an origin-verify header on every API request)
 *   Router (one image, three functions: api, users, rotation) and KeyAccess (key and bucket
 *          policies naming those roles)
 *   Rotation (EventBridge Scheduler, failures to a DLQ; deploy-time ensure-keys, which also
 *            publishes the static documents)
 *   Rollout (smoke-test each new version, then move its `live` alias) ──> HttpApi routes
 *   ServiceClients (declared clients, credentials to Secrets Manager, retired on removal)
 *   Monitoring (alarms to the alarm topic, the key-age report, one dashboard)
 *   ExampleProtectedApi (dev: a JWT-authorized route proving the loop)
 *
 * The HTTP API resource comes first and the integrations later, so CloudFront's URL (the
 * issuer) can be handed to the functions without a dependency cycle.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readConfig } from "./config.js";
import { Storage } from "./storage.js";
import { HttpApi } from "./api.js";
import { Edge, OriginVerify } from "./edge.js";
import { Router } from "./router.js";
import { KeyAccess } from "./key-access.js";
import { Rotation } from "./rotation.js";
import { Rollout } from "./rollout.js";
import { ServiceClients, ServiceClientSecrets } from "./service-clients.js";
import { ExampleProtectedApi } from "./authorizer.js";
import { Monitoring } from "./monitoring.js";

const config = readConfig();
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const storage = new Storage("storage", { prefix: config.prefix, protect: config.protect, keyBucketName: config.keyBucketName });
const api = new HttpApi("http", { config });
const originVerify = new OriginVerify("origin-verify", { generation: config.originVerifyGeneration });
const edge = new Edge("edge", { config, apiHost: api.host, storage, originVerify });
const clientSecrets = new ServiceClientSecrets("service-client-secrets", { config });
const router = new Router("router", {
  config,
  storage,
  issuer: edge.issuerUrl,
  clientSecretArns: clientSecrets.secrets.map((s) => s.arn),
  context: repoRoot,
  originVerify: originVerify.accepted,
  distributionId: edge.distribution.id,
  distributionArn: edge.distribution.arn,
});
const keyAccess = new KeyAccess("key-access", {
  storage,
  region: config.region,
  readers: [router.apiRole.arn, router.usersRole.arn],
  writers: [router.rotationRole.arn],
  breakGlassRoleArn: config.breakGlassRoleArn,
});
const rotation = new Rotation("rotation", {
  config,
  rotationFunction: router.rotation,
  rotationRole: router.rotationRole,
  imageUri: router.imageUri,
  after: [keyAccess],
});
const rollout = new Rollout("rollout", { functions: { api: router.api, users: router.users }, after: [rotation.ensureKeys, keyAccess] });
api.connect({
  api: { fn: router.api, alias: rollout.aliases.api! },
  users: { fn: router.users, alias: rollout.aliases.users! },
}, config);
new ServiceClients("service-clients", {
  clients: config.serviceClients,
  secrets: clientSecrets.secrets,
  rotationFunction: router.rotation,
  after: [rotation.ensureKeys],
});
const monitoring = new Monitoring("monitoring", {
  config,
  functions: { api: router.api, users: router.users, rotation: router.rotation },
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
/** Point the custom domain's DNS record (CNAME or Route 53 alias) here. */
export const distributionDomainName = edge.distribution.domainName;
export const tableName = storage.table.name;
export const bucketName = storage.bucket.bucket;
export const documentsBucketName = storage.documents.bucket;
/** For operators: `aws lambda invoke --function-name <this> --payload '{"action":"revoke","kid":"..."}'`. */
export const rotationFunctionName = router.rotation.name;
export const serviceClientSecrets = clientSecrets.secrets.map((s) => s.name);
/** Paste into an API Gateway JWT authorizer: issuer and audience. */
export const jwtAuthorizer = { issuer: edge.issuerUrl, audience: config.userAudiences[0]! };
export const exampleProtectedUrl = example?.url;
export const rotationSchedule = rotation.schedule.name;
/** One CloudWatch dashboard with issuance, failures, key age and every alarm. */
export const dashboardUrl = monitoring.dashboardUrl;
