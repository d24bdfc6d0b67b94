/**
 * Stack configuration: Pulumi.yaml declares every key with its type and default, infra/config.ts
 * agrees with those defaults, the dev stack and the README only use declared keys, and the
 * environment the functions receive is read back by the router's own config module (a typo'd
 * variable name would otherwise fall back to a default without a word).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { installMocks } from "./mocks.js";
import { readConfig, routerEnvironment, type StackConfig } from "../../infra/config.js";
import { bucketPrefix, MAX_PREFIX, resourcePrefix } from "../../infra/names.js";
import { loadConfig } from "../../functions/config.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
interface Declaration { type?: string; default?: unknown; value?: unknown; items?: { type: string } }
const declared = parse(read("Pulumi.yaml")).config as Record<string, Declaration>;
const projectKeys = Object.keys(declared).filter((k) => k.startsWith("latchkey:"));

function withConfig(config: Record<string, unknown>): StackConfig {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
  return readConfig();
}

const matchesType = (d: Declaration, v: unknown): boolean => {
  switch (d.type) {
    case "integer": return Number.isInteger(v);
    case "boolean": return typeof v === "boolean";
    case "string": return typeof v === "string";
    case "array": return Array.isArray(v) && v.every((x) => typeof x === d.items?.type);
    default: return true;
  }
};

beforeAll(async () => {
  await installMocks({}, "config-test");
});

describe("Pulumi.yaml", () => {
  it("types every project key and gives it a default of that type (serviceClients: an untyped list)", () => {
    for (const key of projectKeys) {
      const d = declared[key]!;
      if (key === "latchkey:serviceClients") {
        expect(d.value).toEqual([]);
        continue;
      }
      expect(d.default, key).toBeDefined();
      expect(matchesType(d, d.default), `${key} default is a ${d.type}`).toBe(true);
    }
  });

  it("and infra/config.ts fall back to the same defaults", () => {
    const cfg = withConfig({}) as unknown as Record<string, unknown>;
    for (const key of projectKeys) {
      const field = key.slice("latchkey:".length);
      const fallback = field === "serviceClients" ? declared[key]!.value : declared[key]!.default;
      expect(cfg[field] ?? "", key).toEqual(fallback);
    }
    expect(cfg.prefix).toBe("latchkey-config-test");
  });

  it("refuses a custom domain without its certificate, and an unknown architecture", () => {
    expect(() => withConfig({ "latchkey:customDomain": "auth.example.com" })).toThrow(/certificateArn/);
    expect(() => withConfig({ "latchkey:architecture": "riscv64" })).toThrow(/arm64 or x86_64/);
    expect(() => withConfig({ "latchkey:serviceClients": [{ name: "no spaces allowed" }] })).toThrow(/invalid name/);
  });

  it("refuses alarm thresholds that are not positive (0 would page on every data point or never)", () => {
    expect(() => withConfig({ "latchkey:alarmApi5xxPercent": "0" })).toThrow(/alarmApi5xxPercent must be a positive number/);
    expect(() => withConfig({ "latchkey:alarmRefreshReuse": "-1" })).toThrow(/alarmRefreshReuse/);
    expect(withConfig({ "latchkey:alarmKeyAgeGraceHours": "6" }).alarmKeyAgeGraceHours).toBe(6);
  });

  it("refuses a certificate outside us-east-1 (CloudFront reads only there) and anything not an ACM certificate", () => {
    const domain = { "latchkey:customDomain": "auth.example.com" };
    expect(() => withConfig({ ...domain, "latchkey:certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc" })).toThrow(/is in eu-west-1; CloudFront needs the certificate in us-east-1/);
    expect(() => withConfig({ ...domain, "latchkey:certificateArn": "arn:aws:iam::123456789012:server-certificate/abc" })).toThrow(/not an ACM certificate/);
    expect(withConfig({ ...domain, "latchkey:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc" }).certificateArn).toMatch(/us-east-1/);
  });

  it("refuses an alarm topic in another region than the stack's (alarms notify their own region only)", () => {
    const region = { "aws:region": "eu-west-1" };
    expect(() => withConfig({ ...region, "latchkey:alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:oncall" })).toThrow(/is in us-east-1 but the stack deploys to eu-west-1/);
    expect(() => withConfig({ ...region, "latchkey:alarmTopicArn": "oncall" })).toThrow(/not an SNS topic ARN/);
    expect(withConfig({ ...region, "latchkey:alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall" }).alarmTopicArn).toMatch(/eu-west-1/);
  });

  it("refuses a log retention CloudWatch Logs does not accept", () => {
    expect(() => withConfig({ "latchkey:logRetentionDays": "10" })).toThrow(/logRetentionDays 10 is not a value CloudWatch Logs accepts/);
    expect(() => withConfig({ "latchkey:logRetentionDays": "-1" })).toThrow(/CloudWatch/);
    for (const ok of ["1", "14", "3653", "0"]) expect(withConfig({ "latchkey:logRetentionDays": ok }).logRetentionDays).toBe(Number(ok));
  });

  it("refuses a WAF rate limit below WAF's minimum, a negative reserved concurrency, and a break-glass role that is not a role", () => {
    expect(() => withConfig({ "latchkey:wafRateLimit": "5" })).toThrow(/at least 10/);
    expect(withConfig({ "latchkey:wafRateLimit": "10" }).wafRateLimit).toBe(10);
    expect(() => withConfig({ "latchkey:usersReservedConcurrency": "-1" })).toThrow(/0 or more/);
    expect(() => withConfig({ "latchkey:breakGlassRoleArn": "arn:aws:iam::123456789012:user/alice" })).toThrow(/not an IAM role ARN/);
  });

  it("names resources after a sanitised project and stack, so any stack name makes valid S3 and ECR names", () => {
    expect(resourcePrefix("latchkey", "dev")).toBe("latchkey-dev");
    const upper = resourcePrefix("latchkey", "Team_A.Dev");
    expect(upper).toMatch(/^latchkey-team-a-dev-[0-9a-f]{6}$/);
    // Sanitising could merge names; the hash of the original keeps them apart.
    expect(resourcePrefix("latchkey", "dev")).not.toBe(resourcePrefix("latchkey", "Dev"));
    const long = resourcePrefix("latchkey", "x".repeat(100));
    expect(long.length).toBeLessThanOrEqual(MAX_PREFIX);
    expect(`${long}-rotation`.length).toBeLessThanOrEqual(64); // Lambda function names
    for (const p of [upper, long, resourcePrefix("A", "--b--")]) {
      expect(p).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
      const bucket = bucketPrefix(p, "docs");
      expect(bucket.length).toBeLessThanOrEqual(37);
      expect(bucket).toMatch(/^[a-z0-9][a-z0-9-]*-docs-$/);
    }
    expect(withConfig({}).prefix).toBe("latchkey-config-test");
  });

  it("refuses a rotation rate the keyring would refuse every time (shorter than token lifetime + JWKS caching)", () => {
    expect(() => withConfig({ "latchkey:rotationRate": "rate(1 hour)" })).toThrow(/rotationRate rate\(1 hour\) is shorter than the 11400s/);
    expect(() => withConfig({ "latchkey:rotationRate": "rate(3 hours)" })).toThrow(/refused/);
    expect(withConfig({ "latchkey:rotationRate": "rate(4 hours)" }).rotationRate).toBe("rate(4 hours)");
    expect(() => withConfig({ "latchkey:rotationRate": "rate(1 day)", "latchkey:maxAccessTokenTtl": "86400" })).toThrow(/94200s/);
    expect(withConfig({ "latchkey:rotationRate": "cron(0 3 1 * ? *)" }).rotationRate).toBe("cron(0 3 1 * ? *)");
  });
});

describe("stacks and the deploy guide use declared keys only", () => {
  it("Pulumi.dev.yaml", () => {
    const dev = parse(read("Pulumi.dev.yaml")).config as Record<string, unknown>;
    for (const [key, value] of Object.entries(dev).filter(([k]) => k.startsWith("latchkey:"))) {
      expect(projectKeys, key).toContain(key);
      expect(matchesType(declared[key]!, value), `${key} is a ${declared[key]!.type}`).toBe(true);
    }
  });

  it("infra/README.md", () => {
    const used = [...read("infra/README.md").matchAll(/pulumi config set (?:--path ')?(latchkey:[A-Za-z]+)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(3);
    for (const key of used) expect(projectKeys, key).toContain(key);
  });
});

describe("the functions' environment", () => {
  it("is read back by functions/config.ts with every stack value intact", () => {
    const cfg = withConfig({
      "latchkey:accessTokenTtl": "600",
      "latchkey:maxAccessTokenTtl": "7200",
      "latchkey:refreshFamilyTtl": "86400",
      "latchkey:refreshMaxUses": "7",
      "latchkey:keySize": "3072",
      "latchkey:registrationEnabled": "false",
      "latchkey:passwordMinLength": "20",
      "latchkey:userAudiences": ["https://api.example.com", "https://admin.example.com"],
      "latchkey:userScopes": ["openid", "orders:read"],
      "latchkey:logLevel": "warn",
      "latchkey:validateAudience": "https://api.example.com",
      "latchkey:sessionIdleTtl": "3600",
      "latchkey:sessionAbsoluteTtl": "43200",
      "latchkey:brandName": "Acme Sign-in",
      "latchkey:brandLogoUrl": "https://cdn.example.com/logo.svg",
      "latchkey:brandAccent": "#aa3300",
    });
    const env = {
      ...routerEnvironment(cfg),
      LATCHKEY_ISSUER: "https://auth.example.com",
      LATCHKEY_TABLE: "latchkey-prod-table",
      LATCHKEY_KEY_BUCKET: "latchkey-prod-keys",
    };
    expect(env).not.toHaveProperty("AWS_REGION"); // reserved: Lambda sets it
    // --enable-source-maps would parse every module's map at each cold start (issue 15); logged
    // stacks are mapped when written instead (test/unit/stack-trace.test.ts, test/image).
    expect(env).not.toHaveProperty("NODE_OPTIONS");
    expect(loadConfig(env)).toMatchObject({
      accessTokenTtlSeconds: 600,
      maxAccessTokenTtlSeconds: 7200,
      refreshFamilyTtlSeconds: 86400,
      refreshMaxUses: 7,
      keySize: 3072,
      registrationEnabled: false,
      password: { minLength: 20 },
      userAudiences: ["https://api.example.com", "https://admin.example.com"],
      userScopes: ["openid", "orders:read"],
      logLevel: "warn",
      validateAudience: "https://api.example.com",
      session: { idleSeconds: 3600, absoluteSeconds: 43200 },
      brand: { name: "Acme Sign-in", logoUrl: "https://cdn.example.com/logo.svg", accentColor: "#aa3300" },
    });
  });
});
