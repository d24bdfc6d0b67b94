/**
 * The Pulumi program under mocks (no CLI, no AWS): the resource graph, least-privilege IAM,
 * the edge behaviours, rotation wiring, the deploy hook and the outputs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { installMocks, transitiveDependencies, valueOf, type Declared } from "./mocks.js";
import { checkImageBuildEnvironment } from "../../infra/router.js";

let declared: Declared[];
let program: Record<string, any>;

const byType = (type: string) => declared.filter((r) => r.type === type);
const one = (type: string, name?: string) => {
  const found = byType(type).filter((r) => name === undefined || r.name === name);
  expect(found, `${type} ${name ?? ""}`).toHaveLength(1);
  return found[0]!;
};
const statements = (policy: string) => JSON.parse(policy).Statement as { Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }[];
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

async function settle() {
  let last = -1;
  while (declared.length !== last) {
    last = declared.length;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  // The dev stack's own file, plus a few overrides this suite pins.
  const dev = parse(readFileSync(new URL("../../Pulumi.dev.yaml", import.meta.url), "utf8")).config as Record<string, unknown>;
  declared = await installMocks({
    ...dev,
    "latchkey:serviceClients": [{ name: "billing", scopes: ["invoices:read"], audiences: ["https://api.example.com"] }],
    "latchkey:throttleRate": "50",
    "latchkey:throttleBurst": "100",
  });
  // Import only after the mocks exist: a static import would build resources without them.
  program = await import("../../infra/index.js");
  await valueOf(program.issuerUrl);
  await valueOf(program.exampleProtectedUrl);
  await settle();
}, 60_000);

describe("storage", () => {
  it("declares an on-demand single table with TTL", () => {
    const t = one("aws:dynamodb/table:Table").inputs;
    expect(t).toMatchObject({ name: "latchkey-dev-table", billingMode: "PAY_PER_REQUEST", hashKey: "pk", rangeKey: "sk", ttl: { attributeName: "ttl", enabled: true } });
    expect(t.pointInTimeRecovery).toEqual({ enabled: false });
    expect(t.deletionProtectionEnabled).toBe(false);
    expect(one("aws:dynamodb/table:Table").retainOnDelete).toBe(false); // dev stacks clean up after themselves
  });

  it("keeps keys in a versioned, private, SSE-KMS, TLS-only bucket with its own rotating KMS key", () => {
    expect(one("aws:kms/key:Key").inputs.enableKeyRotation).toBe(true);
    expect(one("aws:kms/alias:Alias").inputs.name).toBe("alias/latchkey-dev-keys");
    const sse = one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules[0];
    expect(sse.applyServerSideEncryptionByDefault.sseAlgorithm).toBe("aws:kms");
    expect(sse.applyServerSideEncryptionByDefault.kmsMasterKeyId).toMatch(/^arn:aws:kms:/);
    expect(sse.bucketKeyEnabled).toBe(true);
    expect(one("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration.status).toBe("Enabled");
    expect(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const lifecycle = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules[0];
    expect(lifecycle.noncurrentVersionExpiration.noncurrentDays).toBeGreaterThan(0);
    const policy = statements(one("aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    const tls = policy.find((s) => JSON.stringify(s.Condition ?? {}).includes("aws:SecureTransport"))!;
    expect(tls.Effect).toBe("Deny");
    expect(tls.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    expect(list(tls.Resource)).toEqual(["arn:aws:s3:::latchkey-dev-keys", "arn:aws:s3:::latchkey-dev-keys/*"]);
  });
});

const fn = (suffix: string) => byType("aws:lambda/function:Function").find((f) => f.inputs.name === `latchkey-dev-${suffix}`)!;

describe("router", () => {
  it("builds one image with awsx and runs both functions from it", () => {
    const image = one("awsx:ecr:Image").inputs;
    expect(image.dockerfile).toMatch(/Dockerfile$/);
    expect(image.platform).toBe("linux/arm64");
    for (const f of [fn("api"), fn("rotation")]) {
      expect(f.inputs.packageType).toBe("Image");
      expect(f.inputs.imageUri).toMatch(/@sha256:[0-9a-f]{64}$/);
      expect(f.inputs.architectures).toEqual(["arm64"]);
    }
    expect(fn("api").inputs.role).not.toBe(fn("rotation").inputs.role);
  });

  it("refuses to build an image Lambda cannot run: buildx's default provenance attestation makes an image index", () => {
    expect(() => checkImageBuildEnvironment({})).toThrow(/BUILDX_NO_DEFAULT_ATTESTATIONS=1/);
    expect(() => checkImageBuildEnvironment({ BUILDX_NO_DEFAULT_ATTESTATIONS: "0" })).toThrow(/image index/);
    expect(() => checkImageBuildEnvironment({ BUILDX_NO_DEFAULT_ATTESTATIONS: "1" })).not.toThrow();
    expect(() => checkImageBuildEnvironment({ BUILDX_NO_DEFAULT_ATTESTATIONS: "true" })).not.toThrow();
  });

  it("lets every deploy push the image: awsx reuses one tag per stack, so tags are mutable and the functions pin the digest", () => {
    const repo = one("aws:ecr/repository:Repository").inputs;
    expect(repo.name).toBe("latchkey-dev-router");
    expect(repo.imageTagMutability).toBe("MUTABLE");
    expect(one("awsx:ecr:Image").inputs.imageTag).toBeUndefined();
  });

  it("gives the functions the environment the config module expects, with the CloudFront issuer", () => {
    const env = fn("api").inputs.environment.variables;
    expect(env).toMatchObject({
      LATCHKEY_ISSUER: "https://d111111abcdef8.cloudfront.net",
      LATCHKEY_TABLE: "latchkey-dev-table",
      LATCHKEY_KEY_BUCKET: "latchkey-dev-keys",
      LATCHKEY_ACCESS_TOKEN_TTL: "900",
      LATCHKEY_USER_AUDIENCES: "latchkey",
    });
    expect(env.LATCHKEY_KMS_KEY_ID).toMatch(/^arn:aws:kms:/);
    expect(env.AWS_REGION).toBeUndefined(); // reserved by Lambda
  });

  it("gives each function a log group with the dev stack's retention", () => {
    const groups = byType("aws:cloudwatch/logGroup:LogGroup").map((g) => g.inputs);
    for (const name of ["/aws/lambda/latchkey-dev-api", "/aws/lambda/latchkey-dev-rotation"]) {
      expect(groups.find((g) => g.name === name)?.retentionInDays).toBe(7);
    }
  });
});

describe("least-privilege IAM", () => {
  const rolePolicies = () => byType("aws:iam/rolePolicy:RolePolicy").map((p) => ({ name: p.name, statements: statements(p.inputs.policy) }));
  const policyOf = (name: string) => rolePolicies().find((p) => p.name === name)!.statements;

  it("never allows wildcard actions on DynamoDB, S3 or KMS, and names specific resources", () => {
    for (const { name, statements: ss } of rolePolicies()) {
      for (const s of ss.filter((s) => s.Effect === "Allow")) {
        for (const action of list(s.Action)) {
          expect(action, name).not.toMatch(/\*/);
        }
        for (const resource of list(s.Resource)) {
          expect(resource, name).not.toBe("*");
          expect(resource, name).toMatch(/^arn:aws:/);
        }
      }
    }
  });

  it("the API role cannot write key material; only the rotation role can", () => {
    const api = policyOf("router-api-policy").filter((s) => s.Effect === "Allow");
    const rotation = policyOf("router-rotation-policy").filter((s) => s.Effect === "Allow");
    const s3Actions = (ss: typeof api) => ss.flatMap((s) => list(s.Action)).filter((a) => a.startsWith("s3:"));
    expect(s3Actions(api)).toEqual(["s3:GetObject"]);
    expect(s3Actions(rotation)).toContain("s3:PutObject");
    expect(api.flatMap((s) => list(s.Action))).not.toContain("kms:GenerateDataKey");
    expect(rotation.flatMap((s) => list(s.Action))).toContain("kms:GenerateDataKey");
    // Object access is scoped to the keys/ and secrets/ prefixes.
    for (const s of [...api, ...rotation].filter((s) => list(s.Action).some((a) => a.startsWith("s3:") && a !== "s3:ListBucket"))) {
      expect(list(s.Resource).sort()).toEqual(["arn:aws:s3:::latchkey-dev-keys/keys/*", "arn:aws:s3:::latchkey-dev-keys/secrets/*"]);
    }
    // No table scans for the functions; the table ARN only.
    for (const s of [...api, ...rotation].filter((s) => list(s.Action).some((a) => a.startsWith("dynamodb:")))) {
      expect(list(s.Action)).not.toContain("dynamodb:Scan");
      expect(list(s.Resource)).toEqual([expect.stringMatching(/:table\/latchkey-dev-table$/)]);
    }
  });

  it("the API role (which the users function shares) can read the revocation state in one batch (BatchGetItem on the table only)", () => {
    for (const name of ["router-api-policy"]) {
      const batch = policyOf(name).filter((s) => s.Effect === "Allow" && list(s.Action).includes("dynamodb:BatchGetItem"));
      expect(batch.length, name).toBe(1);
      expect(list(batch[0]!.Resource)).toEqual([expect.stringMatching(/:table\/latchkey-dev-table$/)]);
    }
  });

  it("the rotation role can tell a missing object from a forbidden one (ensure-keys reads the pepper before creating it)", () => {
    // Without s3:ListBucket, S3 answers GetObject on a missing key with 403, not 404.
    const listing = (name: string) => policyOf(name).filter((s) => s.Effect === "Allow" && list(s.Action).includes("s3:ListBucket"));
    const [rotationList] = listing("router-rotation-policy");
    expect(list(rotationList!.Action)).toEqual(["s3:ListBucket"]);
    expect(list(rotationList!.Resource)).toEqual(["arn:aws:s3:::latchkey-dev-keys"]);
    expect(listing("router-api-policy")).toEqual([]);
  });

  it("only the rotation role may fill the declared clients' secrets", () => {
    const rotation = policyOf("router-rotation-policy");
    const sm = rotation.find((s) => list(s.Action).includes("secretsmanager:PutSecretValue"))!;
    expect(list(sm.Resource)).toEqual([expect.stringMatching(/:secret:dev\/billing-/)]);
    expect(policyOf("router-api-policy").flatMap((s) => list(s.Action)).some((a) => a.startsWith("secretsmanager:"))).toBe(false);
  });
});

describe("HTTP API and edge", () => {
  it("routes every design route and $default through a payload 2.0 proxy integration", () => {
    const integration = one("aws:apigatewayv2/integration:Integration", "latchkey-dev-router").inputs;
    expect(integration).toMatchObject({ integrationType: "AWS_PROXY", payloadFormatVersion: "2.0", timeoutMilliseconds: 10_000 });
    expect(integration.integrationUri).toContain(":function:latchkey-dev-api/invocations");
    const keys = byType("aws:apigatewayv2/route:Route").map((r) => r.inputs.routeKey);
    for (const k of ["POST /token", "POST /login", "POST /register", "POST /refresh", "POST /revoke", "POST /sign", "GET /validate", "GET /.well-known/jwks.json", "GET /.well-known/openid-configuration", "GET /openapi.json", "$default"]) {
      expect(keys).toContain(k);
    }
  });

  it("throttles the stage from config and writes access logs", () => {
    const stage = one("aws:apigatewayv2/stage:Stage", "latchkey-dev-stage").inputs;
    expect(stage.defaultRouteSettings).toEqual({ throttlingRateLimit: 50, throttlingBurstLimit: 100 });
    expect(stage.accessLogSettings.destinationArn).toMatch(/log-group:\/aws\/apigateway\/latchkey-dev-api$/);
    expect(JSON.parse(stage.accessLogSettings.format).requestId).toBe("$context.requestId");
  });

  it("lets API Gateway (and only this API) invoke the api function", () => {
    const perm = one("aws:lambda/permission:Permission", "latchkey-dev-api-invoke").inputs;
    expect(perm).toMatchObject({ principal: "apigateway.amazonaws.com", function: "latchkey-dev-api" });
    expect(perm.sourceArn).toMatch(/^arn:aws:execute-api:.*\/\*\/\*$/);
  });

  it("caches /.well-known/* honouring origin Cache-Control with a short origin timeout, and passes the rest through", () => {
    const d = one("aws:cloudfront/distribution:Distribution").inputs;
    expect(d.defaultCacheBehavior).toMatchObject({
      cachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
      originRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
      viewerProtocolPolicy: "https-only",
    });
    expect(d.defaultCacheBehavior.allowedMethods).toContain("POST");
    const wk = d.orderedCacheBehaviors.find((b: { pathPattern: string }) => b.pathPattern === "/.well-known/*");
    expect(wk).toMatchObject({ cachePolicyId: "658327ea-f89d-4fab-a63d-7e88639e58f6", viewerProtocolPolicy: "https-only" });
    const wkOrigin = d.origins.find((o: { originId: string }) => o.originId === wk.targetOriginId);
    expect(wkOrigin.customOriginConfig.originReadTimeout).toBeLessThanOrEqual(2);
    expect(wkOrigin.customOriginConfig.originProtocolPolicy).toBe("https-only");
    for (const o of d.origins) expect(o.domainName).toBe("http-id.execute-api.eu-west-1.amazonaws.com");
    expect(d.viewerCertificate).toEqual({ cloudfrontDefaultCertificate: true });
  });
});

describe("rotation and the deploy hook", () => {
  it("schedules rotation of the rotation function with retries and a dead-letter queue", () => {
    const s = one("aws:scheduler/schedule:Schedule", "rotation-schedule").inputs;
    expect(s.scheduleExpression).toBe("rate(30 days)");
    expect(s.target.arn).toBe("arn:aws:lambda:eu-west-1:123456789012:function:latchkey-dev-rotation");
    expect(JSON.parse(s.target.input)).toEqual({ action: "rotate" });
    expect(s.target.retryPolicy.maximumRetryAttempts).toBeGreaterThan(0);
    expect(s.target.deadLetterConfig.arn).toMatch(/^arn:aws:sqs:.*latchkey-dev-rotation-dlq$/);
    const schedulerPolicy = statements(one("aws:iam/rolePolicy:RolePolicy", "rotation-scheduler-policy").inputs.policy);
    expect(schedulerPolicy.flatMap((st) => list(st.Resource))).toContain(s.target.arn);
  });

  it("sends rotations that fail inside the function (async invocation) to the same dead-letter queue", () => {
    const async = one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs;
    expect(async.functionName).toBe("latchkey-dev-rotation");
    expect(async.maximumRetryAttempts).toBe(2);
    expect(async.destinationConfig.onFailure.destination).toMatch(/:latchkey-dev-rotation-dlq$/);
    // Lambda sends the failure with the function's own role, which is checked when the config is saved.
    const failures = statements(one("aws:iam/rolePolicy:RolePolicy", "rotation-failures-policy").inputs.policy);
    expect(failures).toEqual([expect.objectContaining({ Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [async.destinationConfig.onFailure.destination] })]);
    expect(one("aws:iam/rolePolicy:RolePolicy", "rotation-failures-policy").inputs.role).toBe(one("aws:iam/rolePolicy:RolePolicy", "router-rotation-policy").inputs.role);
    expect(transitiveDependencies(declared, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig::rotation-async")).toContain("aws:iam/rolePolicy:RolePolicy::rotation-failures-policy");
  });

  it("runs ensure-keys on every deploy of a new image", () => {
    const hooks = byType("aws:lambda/invocation:Invocation");
    const ensure = hooks.find((h) => JSON.parse(h.inputs.input).action === "ensure-keys")!;
    expect(ensure.inputs.functionName).toBe("latchkey-dev-rotation");
    const input = JSON.parse(ensure.inputs.input);
    expect(input.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(input.imageUri).toBe(fn("rotation").inputs.imageUri);
    expect(fn("rotation").inputs.imageUri.endsWith(`@${input.imageDigest}`)).toBe(true);
    // A new image changes the input and the triggers, so Pulumi replaces (re-runs) the
    // invocation; so does any other update of the function (its environment names the storage).
    expect(ensure.inputs.triggers).toEqual({ image: input.imageUri, functionLastModified: "2026-11-24T01:02:03.000+0000" });
  });

  it("invokes ensure-keys only once the rotation function's permissions exist (a fresh stack's first call must not be denied)", () => {
    const after = transitiveDependencies(declared, "aws:lambda/invocation:Invocation::rotation-ensure-keys");
    expect(after).toContain("aws:lambda/function:Function::router-rotation");
    expect(after).toContain("aws:iam/rolePolicy:RolePolicy::router-rotation-policy");
    expect(after).toContain("aws:cloudwatch/logGroup:LogGroup::router-rotation-logs");
    expect(transitiveDependencies(declared, "aws:lambda/function:Function::router-api")).toContain("aws:iam/rolePolicy:RolePolicy::router-api-policy");
  });

  it("creates declared service clients through the rotation function into Secrets Manager", () => {
    const secret = one("aws:secretsmanager/secret:Secret").inputs;
    expect(secret.name).toBe("dev/billing");
    const hook = byType("aws:lambda/invocation:Invocation").find((h) => JSON.parse(h.inputs.input).action === "ensure-client")!;
    const input = JSON.parse(hook.inputs.input);
    expect(input.client).toMatchObject({ name: "billing", scopes: ["invoices:read"], audiences: ["https://api.example.com"] });
    expect(input.client.secretId).toMatch(/:secret:dev\/billing-/);
  });
});

describe("consumers and outputs", () => {
  it("the dev stack deploys a JWT-authorized example route trusting this issuer", () => {
    const auth = one("aws:apigatewayv2/authorizer:Authorizer").inputs;
    expect(auth).toMatchObject({ authorizerType: "JWT", identitySources: ["$request.header.Authorization"] });
    expect(auth.jwtConfiguration).toEqual({ issuer: "https://d111111abcdef8.cloudfront.net", audiences: ["latchkey"] });
    const route = byType("aws:apigatewayv2/route:Route").find((r) => r.inputs.routeKey === "GET /whoami")!;
    expect(route.inputs.authorizationType).toBe("JWT");
  });

  it("exports what a platform engineer pastes elsewhere", async () => {
    expect(await valueOf(program.issuerUrl)).toBe("https://d111111abcdef8.cloudfront.net");
    expect(await valueOf(program.jwksUrl)).toBe("https://d111111abcdef8.cloudfront.net/.well-known/jwks.json");
    expect(await valueOf(program.tokenEndpoint)).toBe("https://d111111abcdef8.cloudfront.net/token");
    expect(await valueOf(program.apiUrl)).toMatch(/^https:\/\/.*execute-api/);
    expect(await valueOf(program.tableName)).toBe("latchkey-dev-table");
    expect(await valueOf(program.bucketName)).toBe("latchkey-dev-keys");
    const authorizer = program.jwtAuthorizer;
    expect({ issuer: await valueOf(authorizer.issuer), audience: authorizer.audience }).toEqual({ issuer: "https://d111111abcdef8.cloudfront.net", audience: "latchkey" });
  });
});

describe("operations", () => {
  it("alarms when a rotation lands in the dead-letter queue", () => {
    const alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", "rotation-dlq-alarm").inputs;
    expect(alarm).toMatchObject({
      name: "latchkey-dev-rotation-failed",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
    });
    expect(alarm.dimensions).toEqual({ QueueName: "latchkey-dev-rotation-dlq" });
  });
});

describe("monitoring with the default config", () => {
  const alarms = () => byType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs);
  it("declares every alarm with the default thresholds, without actions when no topic is configured", () => {
    const byName = Object.fromEntries(alarms().map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        "api-5xx-rate", "api-errors", "api-latency-p99", "api-throttles", "edge-5xx-rate", "key-age",
        "refresh-reuse", "rotation-errors", "rotation-failed", "rotation-throttles",
      ].map((n) => `latchkey-dev-${n}`),
    );
    expect(byName["latchkey-dev-api-errors"].threshold).toBe(5);
    expect(byName["latchkey-dev-api-throttles"].threshold).toBe(1);
    expect(byName["latchkey-dev-api-5xx-rate"].threshold).toBe(1);
    expect(byName["latchkey-dev-api-latency-p99"].threshold).toBe(1000);
    expect(byName["latchkey-dev-edge-5xx-rate"].threshold).toBe(1);
    expect(byName["latchkey-dev-key-age"].threshold).toBe(30 * 86400 + 48 * 3600);
    expect(byName["latchkey-dev-refresh-reuse"].threshold).toBe(3);
    for (const a of alarms()) expect(a.alarmActions ?? [], a.name).toEqual([]);
  });

  it("leaves X-Ray tracing and the audit event bus off", () => {
    for (const f of [fn("api"), fn("rotation")]) {
      expect(f.inputs.tracingConfig).toBeUndefined();
      expect(f.inputs.environment.variables).toMatchObject({ LATCHKEY_AUDIT_EVENT_BUS: "", LATCHKEY_SERVICE_NAME: "latchkey-dev" });
    }
    const actions = byType("aws:iam/rolePolicy:RolePolicy").flatMap((p) => statements(p.inputs.policy).flatMap((s) => list(s.Action)));
    expect(actions.filter((a) => a.startsWith("xray:") || a.startsWith("events:"))).toEqual([]);
  });

  it("exports the dashboard's URL", async () => {
    expect(await valueOf(program.dashboardUrl)).toBe(
      "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/latchkey-dev-latchkey",
    );
  });
});
