/**
 * The HTTP API: API Gateway HTTP API with Lambda proxy integrations (payload 2.0), one per
 * serving function through its `live` alias. Each route goes to the function the route table
 * names (functions/http/route-table.ts, `fn`), $default to the api function (so unknown paths
 * still get the app's JSON 404). A $default stage with throttling, its own budget for the
 * token endpoint, and JSON access logs.
 *
 * The execute-api URL is not the way in: the functions refuse requests without CloudFront's
 * origin-verify header (infra/edge.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";
import { ROUTE_TABLE, type RouteFunction } from "../functions/http/route-table.js";
import { ACCESS_LOG_FORMAT } from "./access-log.js";

export interface RouteTarget {
  fn: RouteFunction;
  routeKey: string;
}

/** Every route with the function that serves it, plus $default (the api function) for JSON 404s. */
export function routeTargets(): RouteTarget[] {
  return [
    ...ROUTE_TABLE.map((r) => ({ fn: r.fn, routeKey: `${r.method.toUpperCase()} ${r.path}` })),
    { fn: "api" as const, routeKey: "$default" },
  ];
}

export const ROUTE_KEYS = routeTargets().map((t) => t.routeKey);

/**
 * Routes with a stage budget of their own (route settings override the stage default): the
 * token endpoint, so a flood on other routes cannot throttle machine tokens.
 */
export function routeThrottles(cfg: StackConfig): Record<string, { rate: number; burst: number }> {
  return { "POST /token": { rate: cfg.tokenThrottleRate, burst: cfg.tokenThrottleBurst } };
}

export class HttpApi extends pulumi.ComponentResource {
  readonly api: aws.apigatewayv2.Api;
  /** The execute-api URL: only CloudFront's origin; requests without its header are refused. */
  readonly url: pulumi.Output<string>;
  /** The API's host name, for CloudFront's origin. */
  readonly host: pulumi.Output<string>;

  constructor(name: string, args: { config: StackConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:HttpApi", name, {}, opts);
    this.api = new aws.apigatewayv2.Api(`${name}`, {
      name: `${args.config.prefix}-api`,
      protocolType: "HTTP",
      description: "Latchkey token issuer (origin of the CloudFront distribution)",
    }, { parent: this });
    this.url = this.api.apiEndpoint;
    this.host = this.api.apiEndpoint.apply((u) => new URL(u).host);
    this.registerOutputs({ url: this.url });
  }

  /** Wires the serving functions' live aliases in: integrations, routes, permissions and the throttled stage. */
  connect(targets: Record<RouteFunction, { fn: aws.lambda.Function; alias: aws.lambda.Alias }>, cfg: StackConfig): aws.apigatewayv2.Stage {
    const parent = { parent: this };
    const integrations = {} as Record<RouteFunction, aws.apigatewayv2.Integration>;
    for (const [role, { fn, alias }] of Object.entries(targets) as [RouteFunction, { fn: aws.lambda.Function; alias: aws.lambda.Alias }][]) {
      integrations[role] = new aws.apigatewayv2.Integration(`${cfg.prefix}-${role}`, {
        apiId: this.api.id,
        integrationType: "AWS_PROXY",
        integrationUri: alias.invokeArn,
        integrationMethod: "POST",
        payloadFormatVersion: "2.0",
        // The function's own timeout, within the HTTP API's 30 s cap.
        timeoutMilliseconds: Math.min(cfg.timeout, 30) * 1000,
      }, parent);
      new aws.lambda.Permission(`${cfg.prefix}-${role}-invoke`, {
        action: "lambda:InvokeFunction",
        function: fn.name,
        qualifier: alias.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/*`,
      }, parent);
    }
    const routes = routeTargets().map(
      ({ fn, routeKey }) =>
        new aws.apigatewayv2.Route(`${cfg.prefix}-route-${routeKey.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase()}`, {
          apiId: this.api.id,
          routeKey,
          target: pulumi.interpolate`integrations/${integrations[fn].id}`,
        }, parent),
    );
    const accessLogs = new aws.cloudwatch.LogGroup(`${cfg.prefix}-api-access`, {
      name: `/aws/apigateway/${cfg.prefix}-api`,
      retentionInDays: cfg.logRetentionDays,
    }, parent);
    return new aws.apigatewayv2.Stage(`${cfg.prefix}-stage`, {
      apiId: this.api.id,
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: { throttlingRateLimit: cfg.throttleRate, throttlingBurstLimit: cfg.throttleBurst },
      routeSettings: Object.entries(routeThrottles(cfg)).map(([routeKey, t]) => ({ routeKey, throttlingRateLimit: t.rate, throttlingBurstLimit: t.burst })),
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        format: JSON.stringify(ACCESS_LOG_FORMAT),
      },
    }, { parent: this, dependsOn: routes });
  }
}
