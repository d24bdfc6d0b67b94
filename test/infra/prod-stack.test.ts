/** A prod stack: custom domain with its certificate, protections on, x86_64, no example route. */
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
    expect(declared.find((r) => r.type === "aws:s3/bucket:Bucket")!.inputs).toMatchObject({ bucket: "latchkey-prod-keys", forceDestroy: false });
  });

  it("keeps users, clients and signing keys through a pulumi destroy", () => {
    for (const type of ["aws:dynamodb/table:Table", "aws:s3/bucket:Bucket", "aws:kms/key:Key"]) {
      expect(declared.find((r) => r.type === type)!.retainOnDelete, type).toBe(true);
    }
    expect(declared.find((r) => r.type === "aws:kms/key:Key")!.inputs.deletionWindowInDays).toBe(30);
  });

  it("notifies the on-call topic when a rotation fails for good", () => {
    const alarm = declared.find((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.name === "latchkey-prod-rotation-failed")!.inputs;
    expect(alarm.alarmActions).toEqual(["arn:aws:sns:eu-west-1:123456789012:oncall"]);
  });

  it("uses the configured architecture and rotation rate, and deploys no example route or clients", () => {
    expect(declared.find((r) => r.type === "awsx:ecr:Image")!.inputs.platform).toBe("linux/amd64");
    expect(declared.find((r) => r.type === "aws:scheduler/schedule:Schedule" && r.inputs.name === "latchkey-prod-key-rotation")!.inputs.scheduleExpression).toBe("rate(14 days)");
    expect(declared.some((r) => r.type === "aws:apigatewayv2/authorizer:Authorizer")).toBe(false);
    expect(declared.some((r) => r.type === "aws:secretsmanager/secret:Secret")).toBe(false);
  });
});
