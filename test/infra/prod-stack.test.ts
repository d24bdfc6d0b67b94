/**
 * A prod stack: custom domain with its certificate, protections on, x86_64, no example route,
 * a WAF rate limit, reserved concurrency for the users function and a break-glass role.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, valueOf, type Declared } from "./mocks.js";

let declared: Declared[];
let program: Record<string, any>;

beforeAll(async () => {
  declared = await installMocks(
    {
      "aws:region": "eu-west-1",
      "latchkey:customDomain": "auth.example.com",
      "latchkey:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
      "latchkey:protect": "true",
      "latchkey:architecture": "x86_64",
      "latchkey:rotationRate": "rate(14 days)",
      "latchkey:alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall",
      "latchkey:wafRateLimit": "2000",
      "latchkey:usersReservedConcurrency": "20",
      "latchkey:breakGlassRoleArn": "arn:aws:iam::123456789012:role/latchkey-break-glass",
      "latchkey:originVerifyGeneration": "3",
    },
    "prod",
  );
  program = await import("../../infra/index.js");
  await valueOf(program.issuerUrl);
  let last = -1;
  while (declared.length !== last) {
    last = declared.length;
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

describe("prod stack", () => {
  it("serves the issuer on the custom domain with the ACM certificate", async () => {
    const d = declared.find((r) => r.type === "aws:cloudfront/distribution:Distribution")!.inputs;
    expect(d.aliases).toEqual(["auth.example.com"]);
    expect(d.viewerCertificate).toMatchObject({ acmCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc", sslSupportMethod: "sni-only" });
    expect(await valueOf(program.issuerUrl)).toBe("https://auth.example.com");
    const api = declared.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "latchkey-prod-api")!;
    expect(api.inputs.environment.variables.LATCHKEY_ISSUER).toBe("https://auth.example.com");
  });

  it("turns on point-in-time recovery and deletion protection, and names resources after the stack", () => {
    const t = declared.find((r) => r.type === "aws:dynamodb/table:Table")!.inputs;
    expect(t).toMatchObject({ name: "latchkey-prod-table", pointInTimeRecovery: { enabled: true }, deletionProtectionEnabled: true });
    expect(declared.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === "storage-keys")!.inputs).toMatchObject({ bucketPrefix: "latchkey-prod-keys-", forceDestroy: false });
  });

  it("protects the table, the buckets and the key (a destroy or replacement stops), and keeps the data through a destroy", () => {
    const named = (type: string, name: string) => declared.find((r) => r.type === type && r.name === name)!;
    const data = [["aws:dynamodb/table:Table", "storage-table"], ["aws:s3/bucket:Bucket", "storage-keys"], ["aws:kms/key:Key", "storage-key"]];
    for (const [type, name] of data) {
      expect(named(type!, name!).protect, name).toBe(true);
      expect(named(type!, name!).retainOnDelete, name).toBe(true);
    }
    expect(named("aws:s3/bucket:Bucket", "storage-documents").protect).toBe(true);
    // The key bucket's encryption and public-access block stay with the kept bucket.
    expect(named("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "storage-keys-sse").retainOnDelete).toBe(true);
    expect(named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "storage-keys-public-access").retainOnDelete).toBe(true);
    expect(declared.find((r) => r.type === "aws:kms/key:Key")!.inputs.deletionWindowInDays).toBe(30);
  });

  it("keeps the ECR repository through a destroy instead of failing on its images", () => {
    const repo = declared.find((r) => r.type === "aws:ecr/repository:Repository")!;
    expect(repo.inputs.forceDelete).toBe(false);
    expect(repo.retainOnDelete).toBe(true);
  });

  it("puts a per-IP rate-based WAF web ACL, in us-east-1, on the distribution", () => {
    const acl = declared.find((r) => r.type === "aws:wafv2/webAcl:WebAcl")!;
    expect(acl.inputs).toMatchObject({ scope: "CLOUDFRONT", region: "us-east-1", defaultAction: { allow: {} } });
    expect(acl.inputs.rules).toEqual([expect.objectContaining({ action: { block: {} }, statement: { rateBasedStatement: { limit: 2000, aggregateKeyType: "IP", evaluationWindowSec: 300 } } })]);
    const d = declared.find((r) => r.type === "aws:cloudfront/distribution:Distribution")!.inputs;
    expect(d.webAclId).toMatch(/^arn:aws:wafv2.*webacl\/latchkey-prod-edge$/);
  });

  it("reserves concurrency for the users function when config asks", () => {
    const users = declared.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "latchkey-prod-users")!;
    expect(users.inputs.reservedConcurrentExecutions).toBe(20);
    const api = declared.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "latchkey-prod-api")!;
    expect(api.inputs.reservedConcurrentExecutions).toBeUndefined();
  });

  it("lets the break-glass role read and decrypt key material besides the functions", () => {
    const glass = "arn:aws:iam::123456789012:role/latchkey-break-glass";
    const keyPolicy = JSON.parse(declared.find((r) => r.type === "aws:kms/keyPolicy:KeyPolicy")!.inputs.policy).Statement;
    for (const sid of ["DecryptKeyMaterial", "EncryptKeyMaterial"]) expect(keyPolicy.find((s: any) => s.Sid === sid).Principal.AWS).toContain(glass);
    const bucketPolicy = JSON.parse(declared.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy" && r.name === "key-access-bucket-policy")!.inputs.policy).Statement;
    for (const sid of ["OnlyTheFunctionsReadKeyMaterial", "OnlyRotationWritesKeyMaterial"]) {
      expect(bucketPolicy.find((s: any) => s.Sid === sid).Condition.ArnNotEquals["aws:PrincipalArn"]).toContain(glass);
    }
  });

  it("rotates the origin-verify secret by generation: CloudFront sends the new one, the functions accept it and the previous", () => {
    const passwords = declared.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => r.name).sort();
    expect(passwords).toEqual(["origin-verify-2", "origin-verify-3"]);
    const d = declared.find((r) => r.type === "aws:cloudfront/distribution:Distribution")!.inputs;
    expect(d.origins.find((o: any) => o.originId === "api").customHeaders[0].value).toBe("origin-secret-origin-verify-3");
    const api = declared.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "latchkey-prod-api")!;
    expect(api.inputs.environment.variables.LATCHKEY_ORIGIN_VERIFY).toBe("origin-secret-origin-verify-3,origin-secret-origin-verify-2");
  });

  it("notifies the on-call topic when a rotation fails for good", () => {
    const alarm = declared.find((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.name === "latchkey-prod-rotation-failed")!.inputs;
    expect(alarm.alarmActions).toEqual(["arn:aws:sns:eu-west-1:123456789012:oncall"]);
  });

  it("uses the configured architecture and rotation rate, and deploys no example route or clients", () => {
    expect(declared.find((r) => r.type === "docker-build:index:Image")!.inputs.platforms).toEqual(["linux/amd64"]);
    expect(declared.find((r) => r.type === "aws:scheduler/schedule:Schedule" && r.inputs.name === "latchkey-prod-key-rotation")!.inputs.scheduleExpression).toBe("rate(14 days)");
    expect(declared.some((r) => r.type === "aws:apigatewayv2/authorizer:Authorizer")).toBe(false);
    expect(declared.some((r) => r.type === "aws:secretsmanager/secret:Secret")).toBe(false);
  });
});
