/**
 * The HTTP API: API Gateway HTTP API with a Lambda proxy integration (payload 2.0), the
 * design's routes plus $default (so unknown paths still get the app's JSON 404), and a
 * $default stage with throttling and JSON access logs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";
import { routeKeys } from "../functions/http/route-table.js";

/** Every route the api function serves (the one route table), plus $default for JSON 404s. */
export const ROUTE_KEYS = [...routeKeys("api"), ...routeKeys("users"), "$default"];

export class HttpApi extends pulumi.ComponentResource {
  readonly api: aws.apigatewayv2.Api;
  readonly url: pulumi.Output<string>;
  /** The API's host name, for CloudFront's origin. */
  readonly host: pulumi.Output<string>;

  constructor(name: string, args: { config: StackConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:HttpApi", name, {}, opts);
    this.api = new aws.apigatewayv2.Api(`${name}`, {
      name: `${args.config.prefix}-api`,
      protocolType: "HTTP",
      description: "Latchkey token issuer",
    }, { parent: this });
    this.url = this.api.apiEndpoint;
    this.host = this.api.apiEndpoint.apply((u) => new URL(u).host);
    this.registerOutputs({ url: this.url });
  }

  /** Wires the router function in: integration, routes, permission and the throttled stage. */
  connect(fn: aws.lambda.Function, cfg: StackConfig): aws.apigatewayv2.Stage {
    const parent = { parent: this };
    const integration = new aws.apigatewayv2.Integration(`${cfg.prefix}-router`, {
      apiId: this.api.id,
      integrationType: "AWS_PROXY",
      integrationUri: fn.invokeArn,
      integrationMethod: "POST",
      payloadFormatVersion: "2.0",
      // The function's own timeout, within the HTTP API's 30 s cap.
      timeoutMilliseconds: Math.min(cfg.timeout, 30) * 1000,
    }, parent);
    const routes = ROUTE_KEYS.map(
      (routeKey) =>
        new aws.apigatewayv2.Route(`${cfg.prefix}-route-${routeKey.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase()}`, {
          apiId: this.api.id,
          routeKey,
          target: pulumi.interpolate`integrations/${integration.id}`,
        }, parent),
    );
    new aws.lambda.Permission(`${cfg.prefix}-api-invoke`, {
      action: "lambda:InvokeFunction",
      function: fn.name,
      principal: "apigateway.amazonaws.com",
      sourceArn: pulumi.interpolate`${this.api.executionArn}/*/*`,
    }, parent);
    const accessLogs = new aws.cloudwatch.LogGroup(`${cfg.prefix}-api-access`, {
      name: `/aws/apigateway/${cfg.prefix}-api`,
      retentionInDays: cfg.logRetentionDays,
    }, parent);
    return new aws.apigatewayv2.Stage(`${cfg.prefix}-stage`, {
      apiId: this.api.id,
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: { throttlingRateLimit: cfg.throttleRate, throttlingBurstLimit: cfg.throttleBurst },
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        format: JSON.stringify({
          requestId: "$context.requestId",
          ip: "$context.identity.sourceIp",
          method: "$context.httpMethod",
          path: "$context.path",
          status: "$context.status",
          latencyMs: "$context.responseLatency",
          integrationError: "$context.integrationErrorMessage",
        }),
      },
    }, { parent: this, dependsOn: routes });
  }
}
