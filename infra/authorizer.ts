/**
 * For consumers: an API Gateway JWT authorizer that trusts this issuer, for any HTTP API.
 *
 * @example
 *   const auth = new LatchkeyJwtAuthorizer("orders-auth", { apiId: ordersApi.id, issuer, audiences: ["https://orders.example.com"] });
 *   new aws.apigatewayv2.Route("orders", { apiId: ordersApi.id, routeKey: "GET /orders", authorizationType: "JWT", authorizerId: auth.authorizer.id, authorizationScopes: ["orders:read"], target });
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface LatchkeyJwtAuthorizerArgs {
  apiId: pulumi.Input<string>;
  issuer: pulumi.Input<string>;
  audiences: pulumi.Input<pulumi.Input<string>[]>;
}

export class LatchkeyJwtAuthorizer extends pulumi.ComponentResource {
  readonly authorizer: aws.apigatewayv2.Authorizer;

  constructor(name: string, args: LatchkeyJwtAuthorizerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:JwtAuthorizer", name, {}, opts);
    this.authorizer = new aws.apigatewayv2.Authorizer(name, {
      apiId: args.apiId,
      authorizerType: "JWT",
      identitySources: ["$request.header.Authorization"],
      jwtConfiguration: { issuer: args.issuer, audiences: args.audiences },
    }, { parent: this });
    this.registerOutputs({ authorizerId: this.authorizer.id });
  }
}

/**
 * The example protected route (dev stacks): a separate HTTP API whose `GET /whoami` is guarded
 * by the authorizer above and echoes the verified claims, proving the whole loop in one deploy.
 */
export class ExampleProtectedApi extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: { prefix: string; issuer: pulumi.Input<string>; audience: string; logRetentionDays: number }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:ExampleProtectedApi", name, {}, opts);
    const parent = { parent: this };
    const api = new aws.apigatewayv2.Api(name, { name: `${args.prefix}-example`, protocolType: "HTTP" }, parent);
    const role = new aws.iam.Role(`${name}-role`, {
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    }, parent);
    const logs = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: `/aws/lambda/${args.prefix}-whoami`, retentionInDays: args.logRetentionDays }, parent);
    new aws.iam.RolePolicy(`${name}-policy`, {
      role: role.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logs.arn}:*` }],
      }),
    }, parent);
    const fn = new aws.lambda.Function(`${name}-whoami`, {
      name: `${args.prefix}-whoami`,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      handler: "index.handler",
      role: role.arn,
      code: new pulumi.asset.AssetArchive({
        "index.mjs": new pulumi.asset.StringAsset(
          "export const handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event.requestContext.authorizer.jwt) });\n",
        ),
      }),
      loggingConfig: { logFormat: "Text", logGroup: logs.name },
    }, { parent: this, dependsOn: [logs] });
    const auth = new LatchkeyJwtAuthorizer(`${name}-auth`, { apiId: api.id, issuer: args.issuer, audiences: [args.audience] }, parent);
    const integration = new aws.apigatewayv2.Integration(`${name}-integration`, {
      apiId: api.id,
      integrationType: "AWS_PROXY",
      integrationUri: fn.invokeArn,
      payloadFormatVersion: "2.0",
    }, parent);
    const route = new aws.apigatewayv2.Route(`${name}-whoami-route`, {
      apiId: api.id,
      routeKey: "GET /whoami",
      authorizationType: "JWT",
      authorizerId: auth.authorizer.id,
      target: pulumi.interpolate`integrations/${integration.id}`,
    }, parent);
    new aws.lambda.Permission(`${name}-invoke`, {
      action: "lambda:InvokeFunction",
      function: fn.name,
      principal: "apigateway.amazonaws.com",
      sourceArn: pulumi.interpolate`${api.executionArn}/*/*`,
    }, parent);
    new aws.apigatewayv2.Stage(`${name}-stage`, { apiId: api.id, name: "$default", autoDeploy: true }, { parent: this, dependsOn: [route] });
    this.url = pulumi.interpolate`${api.apiEndpoint}/whoami`;
    this.registerOutputs({ url: this.url });
  }
}
