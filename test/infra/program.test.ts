/**
 * The Pulumi program under mocks (no CLI, no AWS): the resource graph, least-privilege IAM,
 * the edge behaviours, rotation wiring, the deploy hook and the outputs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { installMocks, transitiveDependencies, valueOf, type Declared } from "./mocks.js";
import { buildContentHash } from "../../infra/image.js";
import { ROUTE_TABLE } from "../../functions/http/route-table.js";

/** What the mock S3 makes of the bucketPrefix (S3 appends a unique 26-character suffix). */
const KEY_BUCKET = "latchkey-dev-keys-20261124010203000000000001";
const DOCS_BUCKET = "latchkey-dev-docs-20261124010203000000000001";

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
    "latchkey:tokenThrottleRate": "30",
    "latchkey:tokenThrottleBurst": "60",
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
    const sse = one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "storage-keys-sse").inputs.rules[0];
    expect(sse.applyServerSideEncryptionByDefault.sseAlgorithm).toBe("aws:kms");
    expect(sse.applyServerSideEncryptionByDefault.kmsMasterKeyId).toMatch(/^arn:aws:kms:/);
    expect(sse.bucketKeyEnabled).toBe(true);
    expect(one("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration.status).toBe("Enabled");
    expect(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "storage-keys-public-access").inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const lifecycle = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules[0];
    expect(lifecycle.noncurrentVersionExpiration.noncurrentDays).toBeGreaterThan(0);
    const policy = statements(one("aws:s3/bucketPolicy:BucketPolicy", "key-access-bucket-policy").inputs.policy);
    const tls = policy.find((s) => JSON.stringify(s.Condition ?? {}).includes("aws:SecureTransport"))!;
    expect(tls.Effect).toBe("Deny");
    expect(tls.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    expect(list(tls.Resource)).toEqual([`arn:aws:s3:::${KEY_BUCKET}`, `arn:aws:s3:::${KEY_BUCKET}/*`]);
  });
});

const fn = (suffix: string) => byType("aws:lambda/function:Function").find((f) => f.inputs.name === `latchkey-dev-${suffix}`)!;

describe("router", () => {
  it("builds one image with docker-build and runs all three functions from its digest", () => {
    const image = one("docker-build:index:Image");
    expect(image.name).toBe("router-image"); // fixed: not derived from the checkout path
    expect(image.inputs.dockerfile.location).toMatch(/(^|\/)Dockerfile$/);
    expect(image.inputs.platforms).toEqual(["linux/arm64"]);
    for (const f of [fn("api"), fn("users"), fn("rotation")]) {
      expect(f.inputs.packageType).toBe("Image");
      expect(f.inputs.imageUri).toBe(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/latchkey-dev-router@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`);
      expect(f.inputs.architectures).toEqual(["arm64"]);
    }
    expect(new Set([fn("api"), fn("users"), fn("rotation")].map((f) => f.inputs.role)).size).toBe(3);
  });

  it("builds a single-manifest image by construction: one platform, the embedded buildx (which disables provenance), pushed", () => {
    const image = one("docker-build:index:Image").inputs;
    // exec mode would run the docker CLI, whose default provenance attestation makes an index.
    expect(image.exec).toBe(false);
    expect(image.platforms).toHaveLength(1);
    expect(image.push).toBe(true);
    expect(image.exports).toBeUndefined(); // only the registry push, no extra exporter
    expect(image.load).toBeFalsy();
    expect(image.registries).toEqual([{ address: expect.stringMatching(/\/latchkey-dev-router$/), username: "AWS", password: "ecr-token" }]);
    // Relative to the project root, so a laptop and CI declare the same inputs.
    expect(image.context.location).toBe(".");
  });

  it("tags the image with a hash of its sources, so the same sources give the same tag anywhere", () => {
    const image = one("docker-build:index:Image").inputs;
    expect(image.tags).toEqual([`123456789012.dkr.ecr.eu-west-1.amazonaws.com/latchkey-dev-router:src-${buildContentHash(process.cwd(), "linux/arm64").slice(0, 32)}`]);
    const repo = one("aws:ecr/repository:Repository");
    expect(repo.inputs.name).toBe("latchkey-dev-router");
    expect(repo.inputs.imageTagMutability).toBe("MUTABLE");
    // Dev: destroy deletes the repository with its images rather than failing halfway.
    expect(repo.inputs.forceDelete).toBe(true);
    expect(repo.retainOnDelete).toBe(false);
  });

  it("gives the functions the environment the config module expects, with the CloudFront issuer", () => {
    const env = fn("api").inputs.environment.variables;
    expect(env).toMatchObject({
      LATCHKEY_ISSUER: "https://d111111abcdef8.cloudfront.net",
      LATCHKEY_TABLE: "latchkey-dev-table",
      LATCHKEY_KEY_BUCKET: KEY_BUCKET,
      LATCHKEY_ACCESS_TOKEN_TTL: "900",
      LATCHKEY_USER_AUDIENCES: "latchkey",
    });
    expect(env.LATCHKEY_KMS_KEY_ID).toMatch(/^arn:aws:kms:/);
    expect(env.AWS_REGION).toBeUndefined(); // reserved by Lambda
  });

  it("gives each function a log group with the dev stack's retention", () => {
    const groups = byType("aws:cloudwatch/logGroup:LogGroup").map((g) => g.inputs);
    for (const name of ["/aws/lambda/latchkey-dev-api", "/aws/lambda/latchkey-dev-users", "/aws/lambda/latchkey-dev-rotation"]) {
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

  it("the serving roles cannot write key material; only the rotation role can, and nobody calls kms:Encrypt", () => {
    const api = policyOf("router-api-policy").filter((s) => s.Effect === "Allow");
    const users = policyOf("router-users-policy").filter((s) => s.Effect === "Allow");
    const rotation = policyOf("router-rotation-policy").filter((s) => s.Effect === "Allow");
    const s3Actions = (ss: typeof api) => ss.flatMap((s) => list(s.Action)).filter((a) => a.startsWith("s3:"));
    expect(s3Actions(api)).toEqual(["s3:GetObject"]);
    expect(s3Actions(users)).toEqual(["s3:GetObject"]);
    expect(s3Actions(rotation)).toContain("s3:PutObject");
    for (const ss of [api, users]) expect(ss.flatMap((s) => list(s.Action))).not.toContain("kms:GenerateDataKey");
    expect(rotation.flatMap((s) => list(s.Action))).toContain("kms:GenerateDataKey");
    for (const ss of [api, users, rotation]) expect(ss.flatMap((s) => list(s.Action))).not.toContain("kms:Encrypt");
    // Key material access is scoped to the keys/ and secrets/ prefixes; users reads keys only.
    const keyMaterial = (ss: typeof api) => ss.filter((s) => list(s.Resource).some((r) => r.includes(KEY_BUCKET)) && list(s.Action).some((a) => a.startsWith("s3:") && a !== "s3:ListBucket"));
    for (const s of [...keyMaterial(api), ...keyMaterial(rotation)]) {
      expect(list(s.Resource).sort()).toEqual([`arn:aws:s3:::${KEY_BUCKET}/keys/*`, `arn:aws:s3:::${KEY_BUCKET}/secrets/*`]);
    }
    expect(keyMaterial(users).flatMap((s) => list(s.Resource))).toEqual([`arn:aws:s3:::${KEY_BUCKET}/keys/*`]);
    // The rotation role writes the public documents, and only under /.well-known/.
    const docs = rotation.filter((s) => list(s.Resource).some((r) => r.includes(DOCS_BUCKET)));
    expect(docs).toEqual([expect.objectContaining({ Action: ["s3:PutObject"], Resource: [`arn:aws:s3:::${DOCS_BUCKET}/.well-known/*`] })]);
    expect([...api, ...users].flatMap((s) => list(s.Resource)).some((r) => r.includes(DOCS_BUCKET))).toBe(false);
    // No table scans for the functions; the table ARN only.
    for (const s of [...api, ...users, ...rotation].filter((s) => list(s.Action).some((a) => a.startsWith("dynamodb:")))) {
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
    expect(list(rotationList!.Resource)).toEqual([`arn:aws:s3:::${KEY_BUCKET}`]);
    expect(listing("router-api-policy")).toEqual([]);
  });

  it("only the rotation role may fill the declared clients' secrets", () => {
    const rotation = policyOf("router-rotation-policy");
    const sm = rotation.find((s) => list(s.Action).includes("secretsmanager:PutSecretValue"))!;
    expect(list(sm.Resource)).toEqual([expect.stringMatching(/:secret:latchkey-dev\/billing-/)]);
    expect(policyOf("router-api-policy").flatMap((s) => list(s.Action)).some((a) => a.startsWith("secretsmanager:"))).toBe(false);
  });
});

describe("HTTP API and edge", () => {
  const integration = (role: string) => one("aws:apigatewayv2/integration:Integration", `latchkey-dev-${role}`);

  it("routes each route to the function the route table names, through that function's live alias", () => {
    for (const role of ["api", "users"]) {
      const i = integration(role).inputs;
      expect(i).toMatchObject({ integrationType: "AWS_PROXY", payloadFormatVersion: "2.0", timeoutMilliseconds: 10_000 });
      expect(i.integrationUri).toContain(`:function:latchkey-dev-${role}:live/invocations`);
    }
    const routes = byType("aws:apigatewayv2/route:Route").filter((r) => r.inputs.routeKey !== "GET /whoami");
    const servedBy = (key: string) => {
      const route = routes.find((r) => r.inputs.routeKey === key)!;
      return ["api", "users"].find((role) => route.inputs.target === `integrations/${integration(role).id}`);
    };
    for (const r of ROUTE_TABLE) expect(servedBy(`${r.method.toUpperCase()} ${r.path}`), r.path).toBe(r.fn);
    expect(servedBy("POST /login")).toBe("users");
    expect(servedBy("POST /register")).toBe("users");
    expect(servedBy("POST /token")).toBe("api");
    expect(servedBy("$default")).toBe("api");
    expect(routes).toHaveLength(ROUTE_TABLE.length + 1);
  });

  it("throttles the stage from config, gives POST /token a budget of its own, and writes access logs", () => {
    const stage = one("aws:apigatewayv2/stage:Stage", "latchkey-dev-stage").inputs;
    expect(stage.defaultRouteSettings).toEqual({ throttlingRateLimit: 50, throttlingBurstLimit: 100 });
    expect(stage.routeSettings).toEqual([{ routeKey: "POST /token", throttlingRateLimit: 30, throttlingBurstLimit: 60 }]);
    expect(stage.accessLogSettings.destinationArn).toMatch(/log-group:\/aws\/apigateway\/latchkey-dev-api$/);
    expect(JSON.parse(stage.accessLogSettings.format).requestId).toBe("$context.requestId");
  });

  it("lets API Gateway (and only this API) invoke each serving function's live alias", () => {
    for (const role of ["api", "users"]) {
      const perm = one("aws:lambda/permission:Permission", `latchkey-dev-${role}-invoke`).inputs;
      expect(perm).toMatchObject({ principal: "apigateway.amazonaws.com", function: `latchkey-dev-${role}`, qualifier: "live" });
      expect(perm.sourceArn).toMatch(/^arn:aws:execute-api:.*\/\*\/\*$/);
    }
  });

  const distribution = () => one("aws:cloudfront/distribution:Distribution").inputs;
  const wellKnown = () => distribution().orderedCacheBehaviors.find((b: { pathPattern: string }) => b.pathPattern === "/.well-known/*");

  it("passes everything but /.well-known/* through uncached with every viewer header but Host", () => {
    const d = distribution();
    expect(d.defaultCacheBehavior).toMatchObject({
      targetOriginId: "api",
      cachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
      originRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
      viewerProtocolPolicy: "https-only",
    });
    expect(d.defaultCacheBehavior.allowedMethods).toContain("POST");
    expect(d.viewerCertificate).toEqual({ cloudfrontDefaultCertificate: true });
  });

  it("serves /.well-known/* from the documents bucket through OAC, failing over to the API in an origin group", () => {
    const d = distribution();
    const wk = wellKnown();
    expect(wk).toMatchObject({ targetOriginId: "well-known", cachePolicyId: "658327ea-f89d-4fab-a63d-7e88639e58f6", viewerProtocolPolicy: "https-only" });
    expect(d.originGroups).toEqual([{
      originId: "well-known",
      failoverCriteria: { statusCodes: [403, 404, 500, 502, 503, 504] },
      members: [{ originId: "documents" }, { originId: "api-well-known" }],
    }]);
    const origin = (id: string) => d.origins.find((o: { originId: string }) => o.originId === id);
    expect(origin("documents")).toEqual({ originId: "documents", domainName: `${DOCS_BUCKET}.s3.eu-west-1.amazonaws.com`, originAccessControlId: "edge-documents-oac-id" });
    expect(one("aws:cloudfront/originAccessControl:OriginAccessControl").inputs).toMatchObject({ originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" });
    // The fallback fails fast so CloudFront can answer from its stale copy in time.
    expect(origin("api-well-known").customOriginConfig.originReadTimeout).toBeLessThanOrEqual(2);
    for (const id of ["api", "api-well-known"]) {
      expect(origin(id).domainName).toBe("http-id.execute-api.eu-west-1.amazonaws.com");
      expect(origin(id).customOriginConfig.originProtocolPolicy).toBe("https-only");
    }
  });

  it("lets this distribution, and nothing else, read the documents bucket, and only /.well-known/*", () => {
    const policy = statements(one("aws:s3/bucketPolicy:BucketPolicy", "edge-documents-policy").inputs.policy);
    const allows = policy.filter((s) => s.Effect === "Allow");
    expect(allows).toEqual([expect.objectContaining({
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: `arn:aws:s3:::${DOCS_BUCKET}/.well-known/*`,
      Condition: { StringEquals: { "AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/edge-id" } },
    })]);
    expect(one("aws:s3/bucketPolicy:BucketPolicy", "edge-documents-policy").inputs.bucket).toBe("storage-documents-id");
    expect(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "storage-documents-public-access").inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    // Never the key bucket.
    expect(DOCS_BUCKET).not.toBe(KEY_BUCKET);
    expect(statements(one("aws:s3/bucketPolicy:BucketPolicy", "key-access-bucket-policy").inputs.policy).some((s) => JSON.stringify(s).includes("cloudfront"))).toBe(false);
  });

  it("answers cross-origin reads of /.well-known/* with CORS * and allows OPTIONS", () => {
    const wk = wellKnown();
    expect(wk.allowedMethods).toEqual(["GET", "HEAD", "OPTIONS"]);
    expect(wk.originRequestPolicyId).toBe("88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"); // CORS-S3Origin: S3 sees the preflight headers
    const policy = one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy");
    expect(wk.responseHeadersPolicyId).toBe(policy.id);
    expect(policy.inputs.corsConfig).toMatchObject({
      accessControlAllowOrigins: { items: ["*"] },
      accessControlAllowMethods: { items: ["GET", "HEAD", "OPTIONS"] },
      accessControlAllowCredentials: false,
      originOverride: true,
    });
    const cors = one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs;
    expect(cors.corsRules).toEqual([expect.objectContaining({ allowedMethods: ["GET", "HEAD"], allowedOrigins: ["*"] })]);
  });

  it("sends a random per-stack origin-verify secret to the API, which the serving functions require", () => {
    const d = distribution();
    const secret = "origin-secret-origin-verify-1";
    for (const o of d.origins.filter((o: { originId: string }) => o.originId.startsWith("api"))) {
      expect(o.customHeaders).toEqual([{ name: "x-latchkey-origin-verify", value: secret }]);
    }
    expect(d.origins.find((o: { originId: string }) => o.originId === "documents").customHeaders).toBeUndefined();
    expect(one("random:index/randomPassword:RandomPassword").inputs).toMatchObject({ length: 48, special: false });
    for (const role of ["api", "users"]) expect(fn(role).inputs.environment.variables.LATCHKEY_ORIGIN_VERIFY).toBe(secret);
    expect(fn("rotation").inputs.environment.variables.LATCHKEY_ORIGIN_VERIFY).toBeUndefined();
  });

  it("puts no WAF web ACL on the distribution unless config asks for one (it costs money)", () => {
    expect(byType("aws:wafv2/webAcl:WebAcl")).toEqual([]);
    expect(distribution().webAclId).toBeUndefined();
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
    expect(secret.name).toBe("latchkey-dev/billing");
    const hook = byType("aws:lambda/invocation:Invocation").find((h) => JSON.parse(h.inputs.input).action === "ensure-client")!;
    const input = JSON.parse(hook.inputs.input);
    expect(input.client).toMatchObject({ name: "billing", scopes: ["invoices:read"], audiences: ["https://api.example.com"] });
    expect(input.client.secretId).toMatch(/:secret:latchkey-dev\/billing-/);
  });

  it("invokes ensure-client with the CRUD lifecycle, so removing a client from config retires it", () => {
    const hook = byType("aws:lambda/invocation:Invocation").find((h) => JSON.parse(h.inputs.input).action === "ensure-client")!;
    expect(hook.inputs.lifecycleScope).toBe("CRUD");
    expect(hook.inputs.terraformKey).toBe("tf"); // the key functions/clients/declared.ts reads
    // The secret outlives the invocation's delete (it depends on the secret), so the function
    // retires the client while its secret still exists.
    expect(hook.dependsOn).toContain("aws:secretsmanager/secret:Secret::service-client-secrets-billing");
  });
});

describe("rollout", () => {
  it("publishes versions of the serving functions (not of the rotation function, which is only invoked)", () => {
    expect(fn("api").inputs.publish).toBe(true);
    expect(fn("users").inputs.publish).toBe(true);
    expect(fn("rotation").inputs.publish).toBeUndefined();
  });

  it("smoke-tests the new version itself, after ensure-keys and the key policies, then moves the live alias to it", () => {
    for (const role of ["api", "users"]) {
      const smoke = one("aws:lambda/invocation:Invocation", `rollout-${role}-smoke`);
      expect(smoke.inputs.functionName).toBe(`latchkey-dev-${role}`);
      expect(smoke.inputs.qualifier).toBe("7"); // the published version, not $LATEST
      expect(JSON.parse(smoke.inputs.input)).toEqual({ action: "smoke", function: role, version: "7" });
      const before = transitiveDependencies(declared, `aws:lambda/invocation:Invocation::rollout-${role}-smoke`);
      expect(before).toContain("aws:lambda/invocation:Invocation::rotation-ensure-keys");
      expect(before).toContain("aws:kms/keyPolicy:KeyPolicy::key-access-key-policy");
      const alias = one("aws:lambda/alias:Alias", `rollout-${role}-live`);
      expect(alias.inputs).toMatchObject({ name: "live", functionName: `latchkey-dev-${role}`, functionVersion: "7" });
      expect(alias.dependsOn).toContain(`aws:lambda/invocation:Invocation::rollout-${role}-smoke`);
      // Traffic reaches the function only through that alias.
      expect(transitiveDependencies(declared, `aws:apigatewayv2/integration:Integration::latchkey-dev-${role}`)).toContain(`aws:lambda/alias:Alias::rollout-${role}-live`);
    }
  });
});

describe("the users function", () => {
  it("serves the password routes from the same image with its own role, and reserves no concurrency by default", () => {
    const users = fn("users").inputs;
    expect(users.imageUri).toBe(fn("api").inputs.imageUri);
    expect(users.reservedConcurrentExecutions).toBeUndefined();
    expect(users.environment.variables).toEqual(fn("api").inputs.environment.variables);
  });
});

describe("key material access", () => {
  const keyPolicy = () => statements(one("aws:kms/keyPolicy:KeyPolicy").inputs.policy) as any[];
  // Each function's role ARN, as the function itself names it.
  const roles = () => Object.fromEntries(["api", "users", "rotation"].map((r) => [r, fn(r).inputs.role as string]));

  it("lets the account administer the KMS key but not use it", () => {
    const admin = keyPolicy().find((s) => s.Sid === "KeyAdministration");
    expect(admin.Principal).toEqual({ AWS: "arn:aws:iam::123456789012:root" });
    for (const forbidden of ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:*"]) {
      expect(admin.Action).not.toContain(forbidden);
    }
    expect(admin.Action).toContain("kms:PutKeyPolicy"); // without it nobody could ever change the key
    expect(admin.Action.some((a: string) => a.includes("*"))).toBe(false);
  });

  it("lets only the function roles decrypt, only the rotation role generate data keys, only through S3 for this bucket", () => {
    const policy = keyPolicy();
    const decrypt = policy.find((s) => list(s.Action).includes("kms:Decrypt"));
    const generate = policy.find((s) => list(s.Action).includes("kms:GenerateDataKey"));
    expect(policy.filter((s) => s.Effect === "Allow" && list(s.Action).some((a: string) => ["kms:Decrypt", "kms:GenerateDataKey"].includes(a)))).toHaveLength(2);
    expect(decrypt.Principal.AWS.sort()).toEqual([roles().api, roles().users, roles().rotation].sort());
    expect(generate.Principal.AWS).toEqual([roles().rotation]);
    for (const s of [decrypt, generate]) {
      expect(s.Condition).toEqual({
        StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": `arn:aws:s3:::${KEY_BUCKET}` },
      });
    }
    expect(policy.flatMap((s) => list(s.Action))).not.toContain("kms:Encrypt");
  });

  it("denies reading keys/ and secrets/ to every other principal, and writing them to all but the rotation role", () => {
    const policy = statements(one("aws:s3/bucketPolicy:BucketPolicy", "key-access-bucket-policy").inputs.policy) as any[];
    const objects = [`arn:aws:s3:::${KEY_BUCKET}/keys/*`, `arn:aws:s3:::${KEY_BUCKET}/secrets/*`];
    const reads = policy.find((s) => s.Sid === "OnlyTheFunctionsReadKeyMaterial");
    expect(reads).toMatchObject({ Effect: "Deny", Principal: "*", Resource: objects });
    expect(reads.Action).toEqual(["s3:GetObject", "s3:GetObjectVersion"]);
    expect(reads.Condition.ArnNotEquals["aws:PrincipalArn"].sort()).toEqual([roles().api, roles().users, roles().rotation].sort());
    const writes = policy.find((s) => s.Sid === "OnlyRotationWritesKeyMaterial");
    expect(writes).toMatchObject({ Effect: "Deny", Principal: "*", Resource: objects });
    expect(writes.Action).toContain("s3:PutObject");
    expect(writes.Condition.ArnNotEquals["aws:PrincipalArn"]).toEqual([roles().rotation]);
  });
});

describe("names", () => {
  it("gives no S3 bucket a fixed name: S3 names are global, so two adopters' dev stacks would collide", () => {
    for (const b of byType("aws:s3/bucket:Bucket").filter((b) => b.name.startsWith("storage-"))) {
      expect(b.inputs.bucket, b.name).toBeUndefined();
      expect(b.inputs.bucketPrefix, b.name).toMatch(/^latchkey-dev-[a-z]+-$/);
      expect(b.inputs.bucketPrefix.length).toBeLessThanOrEqual(37);
    }
  });

  it("names account-scoped resources after the sanitised project and stack", () => {
    expect(one("aws:ecr/repository:Repository").inputs.name).toBe("latchkey-dev-router");
    expect(one("aws:secretsmanager/secret:Secret").inputs.name).toBe("latchkey-dev/billing");
    expect(byType("aws:scheduler/schedule:Schedule").map((x) => x.inputs.name)).toContain("latchkey-dev-key-rotation");
    for (const x of byType("aws:scheduler/schedule:Schedule")) expect(x.inputs.name).toMatch(/^latchkey-dev-/);
    expect(one("aws:kms/alias:Alias").inputs.name).toBe("alias/latchkey-dev-keys");
    for (const g of byType("aws:cloudwatch/logGroup:LogGroup")) expect(g.inputs.name).toMatch(/^\/aws\/(lambda|apigateway)\/latchkey-dev-/);
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
    expect(await valueOf(program.tableName)).toBe("latchkey-dev-table");
    expect(await valueOf(program.bucketName)).toBe(KEY_BUCKET);
    expect(await valueOf(program.documentsBucketName)).toBe(DOCS_BUCKET);
    expect(await valueOf(program.distributionDomainName)).toBe("d111111abcdef8.cloudfront.net");
    expect(await valueOf(program.rotationFunctionName)).toBe("latchkey-dev-rotation");
    // The execute-api URL is CloudFront's origin, not something to call: not an output.
    expect(program.apiUrl).toBeUndefined();
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
        // The users function (password routes) gets the same function alarms as the others.
        "users-errors", "users-throttles",
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
    for (const f of [fn("api"), fn("users"), fn("rotation")]) {
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
