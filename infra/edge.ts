/**
 * The edge: CloudFront in front of everything; its URL (or the custom domain) is the issuer.
 *
 * - `/.well-known/*` (discovery and the JWKS) comes from an origin group: first the static
 *   copies in the public-documents bucket (written by the rotation function whenever the
 *   keyring changes, read through Origin Access Control by this distribution only), failing
 *   over to the HTTP API when the bucket answers 403/404/5xx. So these documents never wait on
 *   a cold function, which matters because API Gateway JWT authorizers give a JWKS fetch
 *   1,500 ms. CORS `*` (the documents are public; browser OIDC libraries fetch them
 *   cross-origin) and OPTIONS are allowed there.
 * - Everything else passes through uncached to the HTTP API with every viewer header but Host.
 * - Every request to the HTTP API carries a secret origin-verify header (random per stack,
 *   rotatable); the functions refuse requests without it, so the execute-api URL is no way in.
 * - Optionally (config, off by default: it costs money) a WAF web ACL with a per-IP rate rule.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackConfig } from "./config.js";
import type { Storage } from "./storage.js";
import { ORIGIN_VERIFY_HEADER } from "../functions/http/origin-verify.js";

/** AWS managed policies (IDs are global constants). */
export const MANAGED = {
  cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
  cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
  allViewerExceptHostHeader: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
  /** Forwards Origin and the Access-Control-Request-* headers, so S3 can answer a preflight. */
  corsS3Origin: "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
} as const;

export { ORIGIN_VERIFY_HEADER };

/** S3 answers 403 for a missing object when the reader may not list the bucket. */
export const FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504];

/**
 * The origin-verify secret: one random value per generation (`latchkey:originVerifyGeneration`).
 * Bumping the generation creates the next value; the functions accept it and the previous one,
 * so requests in flight while CloudFront deploys its change are not refused.
 */
export class OriginVerify extends pulumi.ComponentResource {
  /** What CloudFront sends. */
  readonly current: pulumi.Output<string>;
  /** What the functions accept, comma-separated (current first). */
  readonly accepted: pulumi.Output<string>;

  constructor(name: string, args: { generation: number }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:OriginVerify", name, {}, opts);
    const value = (generation: number) =>
      new random.RandomPassword(`${name}-${generation}`, { length: 48, special: false }, { parent: this }).result;
    this.current = value(args.generation);
    // RandomPassword results are secrets, and so is anything built from them.
    this.accepted = args.generation > 1 ? pulumi.interpolate`${this.current},${value(args.generation - 1)}` : this.current;
    this.registerOutputs({});
  }
}

export interface EdgeArgs {
  config: StackConfig;
  apiHost: pulumi.Input<string>;
  storage: Storage;
  originVerify: OriginVerify;
}

export class Edge extends pulumi.ComponentResource {
  readonly distribution: aws.cloudfront.Distribution;
  readonly issuerUrl: pulumi.Output<string>;
  readonly webAcl: aws.wafv2.WebAcl | undefined;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Edge", name, {}, opts);
    const parent = { parent: this };
    const cfg = args.config;
    const documents = args.storage.documents;
    const api = (originId: string, readTimeout: number) => ({
      originId,
      domainName: args.apiHost,
      customHeaders: [{ name: ORIGIN_VERIFY_HEADER, value: args.originVerify.current }],
      customOriginConfig: {
        httpPort: 80,
        httpsPort: 443,
        originProtocolPolicy: "https-only",
        originSslProtocols: ["TLSv1.2"],
        originReadTimeout: readTimeout,
        originKeepaliveTimeout: 5,
      },
    });

    const oac = new aws.cloudfront.OriginAccessControl(`${name}-documents-oac`, {
      name: `${cfg.prefix}-documents`,
      description: "CloudFront reads the static /.well-known documents",
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    }, parent);

    const cors = new aws.cloudfront.ResponseHeadersPolicy(`${name}-well-known-cors`, {
      name: `${cfg.prefix}-well-known-cors`,
      comment: "Discovery and the JWKS are public: any origin may read them",
      corsConfig: {
        accessControlAllowOrigins: { items: ["*"] },
        accessControlAllowMethods: { items: ["GET", "HEAD", "OPTIONS"] },
        accessControlAllowHeaders: { items: ["*"] },
        accessControlAllowCredentials: false,
        accessControlMaxAgeSec: 86400,
        originOverride: true,
      },
    }, parent);

    this.webAcl = cfg.wafRateLimit > 0 ? this.#webAcl(name, cfg) : undefined;

    this.distribution = new aws.cloudfront.Distribution(`${name}`, {
      enabled: true,
      comment: `${cfg.prefix} issuer`,
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      priceClass: "PriceClass_100",
      ...(cfg.customDomain ? { aliases: [cfg.customDomain] } : {}),
      ...(this.webAcl ? { webAclId: this.webAcl.arn } : {}),
      origins: [
        api("api", 30),
        // The fallback for discovery and JWKS: fail fast, CloudFront answers from its stale copy.
        { ...api("api-well-known", 2), connectionAttempts: 1, connectionTimeout: 1 },
        { originId: "documents", domainName: documents.bucketRegionalDomainName, originAccessControlId: oac.id },
      ],
      originGroups: [{
        originId: "well-known",
        failoverCriteria: { statusCodes: FAILOVER_STATUS_CODES },
        members: [{ originId: "documents" }, { originId: "api-well-known" }],
      }],
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
          targetOriginId: "well-known",
          viewerProtocolPolicy: "https-only",
          // An origin group serves GET, HEAD and OPTIONS only, which is all these need.
          allowedMethods: ["GET", "HEAD", "OPTIONS"],
          cachedMethods: ["GET", "HEAD"],
          cachePolicyId: MANAGED.cachingOptimized,
          originRequestPolicyId: MANAGED.corsS3Origin,
          responseHeadersPolicyId: cors.id,
          compress: true,
        },
      ],
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: cfg.customDomain
        ? { acmCertificateArn: cfg.certificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" }
        : { cloudfrontDefaultCertificate: true },
    }, parent);

    // This distribution, and nothing else, may read the documents (and only those).
    new aws.s3.BucketPolicy(`${name}-documents-policy`, {
      bucket: documents.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "CloudFrontReadsDocuments",
            Effect: "Allow",
            Principal: { Service: "cloudfront.amazonaws.com" },
            Action: "s3:GetObject",
            Resource: pulumi.interpolate`${documents.arn}/.well-known/*`,
            Condition: { StringEquals: { "AWS:SourceArn": this.distribution.arn } },
          },
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [documents.arn, pulumi.interpolate`${documents.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    }, { parent: this, dependsOn: [args.storage.documentsPublicAccess] });

    this.issuerUrl = cfg.customDomain
      ? pulumi.output(`https://${cfg.customDomain}`)
      : pulumi.interpolate`https://${this.distribution.domainName}`;
    this.registerOutputs({ issuerUrl: this.issuerUrl, distributionDomainName: this.distribution.domainName });
  }

  /** A CloudFront-scope web ACL (created in us-east-1, where CloudFront's WAF lives). */
  #webAcl(name: string, cfg: StackConfig): aws.wafv2.WebAcl {
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });
    return new aws.wafv2.WebAcl(`${name}-waf`, {
      name: `${cfg.prefix}-edge`,
      description: "Latchkey: per-IP request rate limit",
      scope: "CLOUDFRONT",
      region: "us-east-1",
      defaultAction: { allow: {} },
      rules: [{
        name: "rate-per-ip",
        priority: 0,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: cfg.wafRateLimit, aggregateKeyType: "IP", evaluationWindowSec: 300 } },
        visibilityConfig: visibility(`${cfg.prefix}-rate-per-ip`),
      }],
      visibilityConfig: visibility(`${cfg.prefix}-edge`),
    }, { parent: this });
  }
}
