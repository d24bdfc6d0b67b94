/**
 * Monitoring: what an operator watches and is paged for, one set per stack.
 *
 * - Alarms, each notifying `latchkey:alarmTopicArn` (thresholds from config):
 *   errors and throttles of every function; HTTP API 5xx rate and p99 latency; CloudFront
 *   5xx rate (CloudFront publishes its metrics only in us-east-1, so that alarm lives there
 *   and notifies `latchkey:edgeAlarmTopicArn`); a current signing key older than the rotation
 *   interval plus a grace period (rotation has stopped); a spike of refresh-token reuse
 *   (possible token theft). The rotation dead-letter-queue alarm lives in Rotation.
 * - A schedule that asks the rotation function for the key's age every 6 hours, so the
 *   key-age alarm has data between rotations (and pages when the data stops).
 * - One CloudWatch dashboard: issuance, authentication failures, lockouts and reuse, key age,
 *   responses and latency by route, the HTTP API, CloudFront, the functions, every alarm,
 *   and the latest audit events.
 *
 * The router's metrics are Embedded Metric Format records (functions/observability/metrics.ts)
 * in the `Latchkey` namespace, with the stack prefix as their `service` dimension.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { rotationIntervalSeconds, type StackConfig } from "./config.js";
import { assumeRolePolicy, policyDocument, type Statement } from "./policies.js";

/** The contract with functions/observability/metrics.ts. */
export const METRICS_NAMESPACE = "Latchkey";

/** How often the key's age is reported, and the alarm period that always holds such a report. */
export const KEY_AGE_REPORT_RATE = "rate(6 hours)";
const KEY_AGE_PERIOD_SECONDS = 12 * 3600;

export interface MonitoringArgs {
  config: StackConfig;
  /** Every function of the stack, by a short label used in alarm names (api, rotation, ...). */
  functions: Record<string, aws.lambda.Function>;
  /** The function that answers `{"action":"report-key-age"}` (the rotation function). */
  rotationFunction: aws.lambda.Function;
  apiId: pulumi.Input<string>;
  distributionId: pulumi.Input<string>;
  /** Alarms declared by other components that belong on the dashboard (the rotation DLQ). */
  otherAlarms?: aws.cloudwatch.MetricAlarm[];
}

/** IAM the functions need for what config switches on: X-Ray tracing, the audit event bus. */
export function observabilityStatements(cfg: StackConfig, account: pulumi.Input<string>, region: string): Statement[] {
  const statements: Statement[] = [];
  if (cfg.tracing) {
    // X-Ray's write actions support no resource-level permissions: "*" is the only resource.
    statements.push({ Sid: "Tracing", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: ["*"] });
  }
  if (cfg.auditEventBus) {
    statements.push({ Sid: "AuditEvents", Effect: "Allow", Action: ["events:PutEvents"], Resource: [eventBusArn(cfg.auditEventBus, account, region)] });
  }
  return statements;
}

/** A bus given by name (or `default`) becomes its ARN in the stack's account and region. */
export function eventBusArn(bus: string, account: pulumi.Input<string>, region: string): pulumi.Output<string> {
  if (bus.startsWith("arn:")) return pulumi.output(bus);
  return pulumi.interpolate`arn:aws:events:${region}:${account}:event-bus/${bus}`;
}

/** The stack's region as the AWS provider sees it. */
export function stackRegion(): string {
  return aws.config.region ?? "us-east-1";
}

export class Monitoring extends pulumi.ComponentResource {
  readonly alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dashboardUrl: pulumi.Output<string>;
  readonly keyAgeReport: aws.scheduler.Schedule;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Monitoring", name, {}, opts);
    const parent = { parent: this };
    const cfg = args.config;
    const region = stackRegion();
    const notify = (topic: string | undefined) => (topic ? { alarmActions: [topic], okActions: [topic] } : {});
    const alarm = (key: string, alarmArgs: aws.cloudwatch.MetricAlarmArgs, options: pulumi.CustomResourceOptions = parent) => {
      this.alarms[key] = new aws.cloudwatch.MetricAlarm(`${name}-${key}`, {
        name: `${cfg.prefix}-${key}`,
        ...notify(cfg.alarmTopicArn),
        ...alarmArgs,
      }, options);
    };
    const service = { service: cfg.prefix };

    for (const [label, fn] of Object.entries(args.functions)) {
      for (const [metric, threshold] of [["Errors", cfg.alarmFunctionErrors], ["Throttles", cfg.alarmFunctionThrottles]] as const) {
        alarm(`${label}-${metric.toLowerCase()}`, {
          alarmDescription: `${metric} of the ${label} function reached ${threshold} in 5 minutes (infra/README.md, Operating Latchkey)`,
          namespace: "AWS/Lambda",
          metricName: metric,
          dimensions: { FunctionName: fn.name },
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          treatMissingData: "notBreaching",
        });
      }
    }

    // HTTP API metrics: 5xx and Count per ApiId (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html).
    alarm("api-5xx-rate", {
      alarmDescription: `More than ${cfg.alarmApi5xxPercent}% of HTTP API requests answered 5xx over 5 minutes (at least 20 requests)`,
      metricQueries: [
        { id: "errors", metric: { namespace: "AWS/ApiGateway", metricName: "5xx", dimensions: { ApiId: args.apiId }, stat: "Sum", period: 300 } },
        { id: "requests", metric: { namespace: "AWS/ApiGateway", metricName: "Count", dimensions: { ApiId: args.apiId }, stat: "Sum", period: 300 } },
        // A handful of requests is no rate: one 5xx in three is not an outage worth a page.
        { id: "rate", expression: "IF(requests >= 20, 100 * errors / requests, 0)", label: "5xx %", returnData: true },
      ],
      evaluationPeriods: 1,
      threshold: cfg.alarmApi5xxPercent,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    alarm("api-latency-p99", {
      alarmDescription: `HTTP API p99 latency above ${cfg.alarmApiLatencyP99Ms} ms for 15 minutes`,
      namespace: "AWS/ApiGateway",
      metricName: "Latency",
      dimensions: { ApiId: args.apiId },
      extendedStatistic: "p99",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: cfg.alarmApiLatencyP99Ms,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });

    // CloudFront publishes its metrics in us-east-1 only, and an alarm can only watch metrics
    // (and notify topics) in its own region, so this alarm is created there.
    const edgeTopic = cfg.edgeAlarmTopicArn ?? (cfg.alarmTopicArn?.split(":")[3] === "us-east-1" ? cfg.alarmTopicArn : undefined);
    if (cfg.alarmTopicArn && !edgeTopic) {
      pulumi.log.warn("latchkey:alarmTopicArn is not in us-east-1: set latchkey:edgeAlarmTopicArn (a us-east-1 topic) to be notified of the CloudFront alarm", this);
    }
    const edgeRegion = region === "us-east-1" ? parent : { parent: this, provider: new aws.Provider(`${name}-us-east-1`, { region: "us-east-1" }, parent) };
    alarm("edge-5xx-rate", {
      alarmDescription: `CloudFront answered more than ${cfg.alarmEdge5xxPercent}% of requests with 5xx over 5 minutes`,
      namespace: "AWS/CloudFront",
      metricName: "5xxErrorRate",
      dimensions: { DistributionId: args.distributionId, Region: "Global" },
      statistic: "Average",
      period: 300,
      evaluationPeriods: 1,
      threshold: cfg.alarmEdge5xxPercent,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      ...notify(edgeTopic),
      ...(edgeTopic ? {} : { alarmActions: [], okActions: [] }),
    }, edgeRegion);

    const maxKeyAge = rotationIntervalSeconds(cfg.rotationRate) + cfg.alarmKeyAgeGraceHours * 3600;
    alarm("key-age", {
      alarmDescription: `The current signing key is older than the rotation interval plus ${cfg.alarmKeyAgeGraceHours} h, or its age stopped being reported: rotation has stopped`,
      namespace: METRICS_NAMESPACE,
      metricName: "SigningKeyAge",
      dimensions: service,
      statistic: "Maximum",
      period: KEY_AGE_PERIOD_SECONDS,
      evaluationPeriods: 1,
      threshold: maxKeyAge,
      comparisonOperator: "GreaterThanThreshold",
      // Reported every 6 hours: a 12-hour period without a report means the reporter is broken too.
      treatMissingData: "breaching",
    });
    alarm("refresh-reuse", {
      alarmDescription: `${cfg.alarmRefreshReuse} or more spent refresh tokens were replayed in 5 minutes: possible token theft`,
      namespace: METRICS_NAMESPACE,
      metricName: "RefreshReuseDetected",
      dimensions: service,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: cfg.alarmRefreshReuse,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });

    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const reporterRole = new aws.iam.Role(`${name}-key-age-role`, { assumeRolePolicy: assumeRolePolicy("scheduler.amazonaws.com", account) }, parent);
    new aws.iam.RolePolicy(`${name}-key-age-policy`, {
      role: reporterRole.id,
      policy: policyDocument([{ Sid: "ReportKeyAge", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [args.rotationFunction.arn] }]),
    }, parent);
    this.keyAgeReport = new aws.scheduler.Schedule(`${name}-key-age-report`, {
      name: `${cfg.prefix}-key-age-report`,
      description: "Reports the Latchkey signing key's age (the rotation-stopped alarm)",
      scheduleExpression: KEY_AGE_REPORT_RATE,
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: args.rotationFunction.arn,
        roleArn: reporterRole.arn,
        input: JSON.stringify({ action: "report-key-age" }),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    }, parent);

    const dashboardName = `${cfg.prefix}-latchkey`;
    const allAlarms = [...Object.values(this.alarms).filter((a) => a !== this.alarms["edge-5xx-rate"]), ...(args.otherAlarms ?? [])];
    const logGroups = Object.values(args.functions).map((fn) => pulumi.interpolate`/aws/lambda/${fn.name}`);
    this.dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, {
      dashboardName,
      dashboardBody: pulumi.jsonStringify({
        widgets: dashboardWidgets({
          prefix: cfg.prefix,
          region,
          apiId: args.apiId,
          distributionId: args.distributionId,
          functionNames: Object.values(args.functions).map((fn) => fn.name),
          alarmArns: allAlarms.map((a) => a.arn),
          logGroups,
          maxKeyAgeDays: maxKeyAge / 86400,
        }),
      }),
    }, parent);
    this.dashboardUrl = pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboard.dashboardName}`;
    this.registerOutputs({ dashboardUrl: this.dashboardUrl });
  }
}

interface DashboardInputs {
  prefix: string;
  region: string;
  apiId: pulumi.Input<string>;
  distributionId: pulumi.Input<string>;
  functionNames: pulumi.Input<string>[];
  alarmArns: pulumi.Input<string>[];
  logGroups: pulumi.Input<string>[];
  maxKeyAgeDays: number;
}

/** The Logs Insights query for audit records (also in infra/README.md, Operating Latchkey). */
export const AUDIT_QUERY =
  'fields @timestamp, event, requestId, sub, clientId, username, kid, reason, sourceIp, route\n| filter msg = "audit"\n| sort @timestamp desc\n| limit 100';

/** Dashboard body widgets (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html). */
function dashboardWidgets(d: DashboardInputs): unknown[] {
  const search = (dims: string, metric: string, stat: string, label: string) => ({
    expression: `SEARCH('{${METRICS_NAMESPACE},${dims}} MetricName="${metric}" service="${d.prefix}"', '${stat}', 300)`,
    label,
    id: label.replace(/\W/g, "").toLowerCase(),
  });
  const graph = (title: string, x: number, y: number, properties: Record<string, unknown>) => ({
    type: "metric",
    x,
    y,
    width: 8,
    height: 6,
    properties: { title, region: d.region, view: "timeSeries", stacked: false, period: 300, ...properties },
  });
  return [
    {
      type: "text",
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown: `# Latchkey ${d.prefix}\nWhat each alarm means and the first thing to do: infra/README.md, "Operating Latchkey". Metrics: namespace \`${METRICS_NAMESPACE}\`, dimension \`service = ${d.prefix}\`.`,
      },
    },
    graph("Tokens issued by grant", 0, 2, { metrics: [[search("service,grant", "TokensIssued", "Sum", "tokens")]], stat: "Sum" }),
    graph("Authentication failures by reason", 8, 2, { metrics: [[search("service,reason", "AuthenticationFailures", "Sum", "failures")]], stat: "Sum" }),
    graph("Lockouts and refresh-token reuse", 16, 2, {
      metrics: [
        [METRICS_NAMESPACE, "Lockouts", "service", d.prefix, { stat: "Sum", label: "lockouts" }],
        [METRICS_NAMESPACE, "RefreshReuseDetected", "service", d.prefix, { stat: "Sum", label: "refresh reuse" }],
      ],
    }),
    graph("Signing key age (days)", 0, 8, {
      metrics: [
        [{ expression: "age / 86400", label: "current key age (days)", id: "days" }],
        [METRICS_NAMESPACE, "SigningKeyAge", "service", d.prefix, { stat: "Maximum", id: "age", visible: false }],
      ],
      period: 21600,
      annotations: { horizontal: [{ label: "alarm", value: d.maxKeyAgeDays }] },
    }),
    graph("Responses by route and status class", 8, 8, { metrics: [[search("service,route,statusClass", "Responses", "Sum", "responses")]], stat: "Sum" }),
    graph("p99 latency by route (ms)", 16, 8, { metrics: [[search("service,route", "Latency", "p99", "p99")]] }),
    graph("HTTP API", 0, 14, {
      metrics: [
        ["AWS/ApiGateway", "Count", "ApiId", d.apiId, { stat: "Sum", label: "requests" }],
        ["AWS/ApiGateway", "4xx", "ApiId", d.apiId, { stat: "Sum", label: "4xx" }],
        ["AWS/ApiGateway", "5xx", "ApiId", d.apiId, { stat: "Sum", label: "5xx" }],
        ["AWS/ApiGateway", "Latency", "ApiId", d.apiId, { stat: "p99", label: "p99 latency (ms)", yAxis: "right" }],
      ],
    }),
    graph("CloudFront (us-east-1)", 8, 14, {
      region: "us-east-1",
      metrics: [
        ["AWS/CloudFront", "Requests", "DistributionId", d.distributionId, "Region", "Global", { stat: "Sum", label: "requests" }],
        ["AWS/CloudFront", "5xxErrorRate", "DistributionId", d.distributionId, "Region", "Global", { stat: "Average", label: "5xx %", yAxis: "right" }],
      ],
    }),
    graph("Functions", 16, 14, {
      metrics: d.functionNames.flatMap((fn) => [
        ["AWS/Lambda", "Errors", "FunctionName", fn, { stat: "Sum" }],
        ["AWS/Lambda", "Throttles", "FunctionName", fn, { stat: "Sum" }],
        ["AWS/Lambda", "Duration", "FunctionName", fn, { stat: "p99", yAxis: "right" }],
      ]),
    }),
    { type: "alarm", x: 0, y: 20, width: 24, height: 4, properties: { title: "Alarms", alarms: d.alarmArns } },
    {
      type: "log",
      x: 0,
      y: 24,
      width: 24,
      height: 8,
      properties: {
        title: "Audit events",
        region: d.region,
        view: "table",
        query: pulumi.all(d.logGroups).apply((groups) => `${groups.map((g) => `SOURCE '${g}'`).join(" | ")} | ${AUDIT_QUERY.replace(/\n/g, " ")}`),
      },
    },
  ];
}
