/**
 * The edge: CloudFront in front of the HTTP API. `/.well-known/*` is cached and honours the
 * origin's Cache-Control (CachingOptimized), so stale-if-error keeps discovery and the JWKS up
 * when the origin fails, with a short origin timeout because API Gateway JWT authorizers give
 * those fetches 1,500 ms. Everything else passes through uncached with every viewer header but
 * Host. HTTPS only. The issuer is this distribution's URL or the custom domain.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";

/** AWS managed policies (IDs are global constants). */
export const MANAGED = {
  cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
  cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
  allViewerExceptHostHeader: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
} as const;

export class Edge extends pulumi.ComponentResource {
  readonly distribution: aws.cloudfront.Distribution;
  readonly issuerUrl: pulumi.Output<string>;

  constructor(name: string, args: { config: StackConfig; apiHost: pulumi.Input<string> }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Edge", name, {}, opts);
    const cfg = args.config;
    const origin = (originId: string, readTimeout: number) => ({
      originId,
      domainName: args.apiHost,
      customOriginConfig: {
        httpPort: 80,
        httpsPort: 443,
        originProtocolPolicy: "https-only",
        originSslProtocols: ["TLSv1.2"],
        originReadTimeout: readTimeout,
        originKeepaliveTimeout: 5,
      },
    });
    this.distribution = new aws.cloudfront.Distribution(`${name}`, {
      enabled: true,
      comment: `${cfg.prefix} issuer`,
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      priceClass: "PriceClass_100",
      ...(cfg.customDomain ? { aliases: [cfg.customDomain] } : {}),
      origins: [
        origin("api", 30),
        // Discovery and JWKS: fail fast so CloudFront answers from its stale copy in time.
        { ...origin("api-well-known", 2), connectionAttempts: 1, connectionTimeout: 1 },
      ],
      defaultCacheBehavior: {
        targetOriginId: "api",
        viewerProtocolPolicy: "https-only",
        allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: MANAGED.cachingDisabled,
        originRequestPolicyId: MANAGED.allViewerExceptHostHeader,
        compress: true,
      },
      orderedCacheBehaviors: [
        {
          pathPattern: "/.well-known/*",
          targetOriginId: "api-well-known",
          viewerProtocolPolicy: "https-only",
          allowedMethods: ["GET", "HEAD"],
          cachedMethods: ["GET", "HEAD"],
          cachePolicyId: MANAGED.cachingOptimized,
          compress: true,
        },
      ],
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: cfg.customDomain
        ? { acmCertificateArn: cfg.certificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" }
        : { cloudfrontDefaultCertificate: true },
    }, { parent: this });
    this.issuerUrl = cfg.customDomain
      ? pulumi.output(`https://${cfg.customDomain}`)
      : pulumi.interpolate`https://${this.distribution.domainName}`;
    this.registerOutputs({ issuerUrl: this.issuerUrl });
  }
}
