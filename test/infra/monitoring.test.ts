/**
 * Monitoring under mocks, on a stack with every switch on: each alarm's metric, threshold and
 * topic; the CloudFront alarm in us-east-1 with its own topic; the key-age report; the
 * dashboard and its URL; X-Ray tracing and the audit event bus (environment and IAM).
 * The switches' defaults (off) are pinned in program.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, valueOf, type Declared } from "./mocks.js";

let declared: Declared[];
let program: Record<string, any>;

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:oncall";
const EDGE_TOPIC = "arn:aws:sns:us-east-1:123456789012:oncall-edge";
const BUS = "security-events";

beforeAll(async () => {
  declared = await installMocks(
    {
      "aws:region": "eu-west-1",
      "latchkey:alarmTopicArn": TOPIC,
      "latchkey:edgeAlarmTopicArn": EDGE_TOPIC,
      "latchkey:rotationRate": "rate(14 days)",
      "latchkey:tracing": "true",
      "latchkey:auditEventBus": BUS,
      "latchkey:alarmFunctionErrors": "7",
      "latchkey:alarmFunctionThrottles": "2",
      "latchkey:alarmApi5xxPercent": "3",
      "latchkey:alarmApiLatencyP99Ms": "800",
      "latchkey:alarmEdge5xxPercent": "4",
      "latchkey:alarmKeyAgeGraceHours": "24",
      "latchkey:alarmRefreshReuse": "2",
    },
    "ops",
  );
  program = await import("../../infra/index.js");
  await valueOf(program.dashboardUrl);
  let last = -1;
  while (declared.length !== last) {
    last = declared.length;
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

const alarm = (name: string) => {
  const found = declared.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.name === `latchkey-ops-${name}`);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
const fn = (suffix: string) => declared.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === `latchkey-ops-${suffix}`)!;
const policies = () =>
  declared
    .filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy")
    .map((p) => ({ name: p.name, statements: JSON.parse(p.inputs.policy).Statement as { Sid?: string; Action: string[]; Resource: string[] }[] }));

describe("alarms: metric, threshold and topic", () => {
  it("errors and throttles of every function", () => {
    for (const label of ["api", "rotation"]) {
      for (const [metric, threshold] of [["errors", 7], ["throttles", 2]] as const) {
        const a = alarm(`${label}-${metric}`).inputs;
        expect(a).toMatchObject({
          namespace: "AWS/Lambda",
          metricName: metric === "errors" ? "Errors" : "Throttles",
          dimensions: { FunctionName: `latchkey-ops-${label}` },
          statistic: "Sum",
          period: 300,
          threshold,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          alarmActions: [TOPIC],
          okActions: [TOPIC],
        });
      }
    }
  });

  it("HTTP API 5xx rate: 5xx over Count for the API, only with enough requests", () => {
    const a = alarm("api-5xx-rate").inputs;
    expect(a).toMatchObject({ threshold: 3, comparisonOperator: "GreaterThanThreshold", alarmActions: [TOPIC] });
    const byId = Object.fromEntries(a.metricQueries.map((q: any) => [q.id, q]));
    expect(byId.errors.metric).toMatchObject({ namespace: "AWS/ApiGateway", metricName: "5xx", dimensions: { ApiId: "http-id" }, stat: "Sum" });
    expect(byId.requests.metric).toMatchObject({ namespace: "AWS/ApiGateway", metricName: "Count", dimensions: { ApiId: "http-id" }, stat: "Sum" });
    expect(byId.rate).toMatchObject({ expression: "IF(requests >= 20, 100 * errors / requests, 0)", returnData: true });
    expect(a.metricQueries.filter((q: any) => q.returnData)).toHaveLength(1);
  });

  it("HTTP API p99 latency", () => {
    expect(alarm("api-latency-p99").inputs).toMatchObject({
      namespace: "AWS/ApiGateway",
      metricName: "Latency",
      dimensions: { ApiId: "http-id" },
      extendedStatistic: "p99",
      threshold: 800,
      evaluationPeriods: 3,
      alarmActions: [TOPIC],
    });
  });

  it("CloudFront 5xx rate: created in us-east-1, where CloudFront's metrics are, notifying the us-east-1 topic", () => {
    const a = alarm("edge-5xx-rate");
    expect(a.inputs).toMatchObject({
      namespace: "AWS/CloudFront",
      metricName: "5xxErrorRate",
      dimensions: { DistributionId: "edge-id", Region: "Global" },
      threshold: 4,
      alarmActions: [EDGE_TOPIC],
      okActions: [EDGE_TOPIC],
    });
    const provider = declared.find((r) => r.type === "pulumi:providers:aws" && r.name === "monitoring-us-east-1");
    expect(provider?.inputs.region).toBe("us-east-1");
    expect(a.provider).toMatch(/\$pulumi:providers:aws::monitoring-us-east-1::/);
    // Every other alarm uses the stack's own region (the default provider).
    expect(alarm("api-5xx-rate").provider).not.toMatch(/us-east-1/);
  });

  it("signing key older than the rotation interval plus the grace period, with missing reports counted as breaching", () => {
    expect(alarm("key-age").inputs).toMatchObject({
      namespace: "Latchkey",
      metricName: "SigningKeyAge",
      dimensions: { service: "latchkey-ops" },
      statistic: "Maximum",
      threshold: 14 * 86400 + 24 * 3600,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "breaching",
      alarmActions: [TOPIC],
    });
  });

  it("refresh-token reuse spike", () => {
    expect(alarm("refresh-reuse").inputs).toMatchObject({
      namespace: "Latchkey",
      metricName: "RefreshReuseDetected",
      dimensions: { service: "latchkey-ops" },
      statistic: "Sum",
      threshold: 2,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      alarmActions: [TOPIC],
    });
  });

  it("the rotation dead-letter queue alarm notifies the same topic", () => {
    expect(alarm("rotation-failed").inputs.alarmActions).toEqual([TOPIC]);
  });
});

describe("the key-age report", () => {
  it("asks the rotation function for the key's age every 6 hours, with a role that may invoke only it", () => {
    const s = declared.find((r) => r.type === "aws:scheduler/schedule:Schedule" && r.inputs.name === "latchkey-ops-key-age-report")!.inputs;
    expect(s.scheduleExpression).toBe("rate(6 hours)");
    expect(s.target.arn).toBe("arn:aws:lambda:eu-west-1:123456789012:function:latchkey-ops-rotation");
    expect(JSON.parse(s.target.input)).toEqual({ action: "report-key-age" });
    const policy = policies().find((p) => p.name === "monitoring-key-age-policy")!.statements;
    expect(policy).toEqual([expect.objectContaining({ Action: ["lambda:InvokeFunction"], Resource: ["arn:aws:lambda:eu-west-1:123456789012:function:latchkey-ops-rotation"] })]);
  });
});

describe("the dashboard", () => {
  it("shows issuance, failures, key age, responses, the API, CloudFront, the functions, every alarm and the audit events", async () => {
    const d = declared.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs;
    expect(d.dashboardName).toBe("latchkey-ops-latchkey");
    const body = JSON.parse(d.dashboardBody);
    const text = JSON.stringify(body);
    for (const metric of ["TokensIssued", "AuthenticationFailures", "Lockouts", "RefreshReuseDetected", "SigningKeyAge", "Responses", "Latency"]) {
      expect(text, metric).toContain(metric);
    }
    expect(text).toContain('service=\\"latchkey-ops\\"');
    expect(text).toContain('"5xxErrorRate","DistributionId","edge-id"');
    const alarms = body.widgets.find((w: any) => w.type === "alarm").properties.alarms as string[];
    for (const name of ["api-errors", "rotation-throttles", "api-5xx-rate", "api-latency-p99", "key-age", "refresh-reuse", "rotation-failed"]) {
      expect(alarms.some((arn) => arn.endsWith(`/latchkey-ops-${name}`)), name).toBe(true);
    }
    const log = body.widgets.find((w: any) => w.type === "log").properties;
    // The users function logs the password routes' audit events (logins, lockouts) too.
    expect(log.query).toMatch(/^SOURCE '\/aws\/lambda\/latchkey-ops-api' \| SOURCE '\/aws\/lambda\/latchkey-ops-users' \| SOURCE '\/aws\/lambda\/latchkey-ops-rotation' \| fields .*filter msg = "audit"/);
    expect(await valueOf(program.dashboardUrl)).toBe(
      "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/latchkey-ops-latchkey",
    );
  });
});

describe("config switches", () => {
  it("latchkey:tracing turns on X-Ray active tracing on every function, with only X-Ray's own write actions on '*'", () => {
    for (const f of [fn("api"), fn("rotation")]) expect(f.inputs.tracingConfig).toEqual({ mode: "Active" });
    for (const name of ["router-api-policy", "router-rotation-policy"]) {
      const ss = policies().find((p) => p.name === name)!.statements;
      const wildcard = ss.filter((s) => s.Resource.includes("*"));
      expect(wildcard, name).toEqual([expect.objectContaining({ Sid: "Tracing", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] })]);
    }
  });

  it("latchkey:auditEventBus tells the functions the bus and lets them put events on that bus only", () => {
    for (const f of [fn("api"), fn("rotation")]) {
      expect(f.inputs.environment.variables).toMatchObject({ LATCHKEY_AUDIT_EVENT_BUS: BUS, LATCHKEY_SERVICE_NAME: "latchkey-ops" });
    }
    for (const name of ["router-api-policy", "router-rotation-policy"]) {
      const ss = policies().find((p) => p.name === name)!.statements;
      expect(ss.find((s) => s.Sid === "AuditEvents"), name).toMatchObject({
        Action: ["events:PutEvents"],
        Resource: [`arn:aws:events:eu-west-1:123456789012:event-bus/${BUS}`],
      });
    }
  });
});
