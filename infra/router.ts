/**
 * The router: one container image backing three Lambda functions, each with its own
 * least-privilege role:
 * - api: tokens, clients, /validate, discovery (functions/http/route-table.ts, fn "api");
 * - users: password routes and sign-in pages (fn "users"), so argon2 work never starves
 *   machine-token issuance; reserved concurrency only when config asks for it;
 * - rotation: rotates keys, ensures keys and declared clients at deploy time, publishes the
 *   static /.well-known documents; the only one that writes key material.
 * The two serving functions publish a version on every change; traffic reaches them through
 * an alias that infra/rollout.ts moves only after a smoke invocation of the new version.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";
import { routerEnvironment } from "./config.js";
import { assumeRolePolicy, policyDocument, TABLE_READ_WRITE, type Statement } from "./policies.js";
import type { Storage } from "./storage.js";
import { RouterImage } from "./image.js";
import { observabilityStatements, stackRegion } from "./monitoring.js";

export interface RouterArgs {
  config: StackConfig;
  storage: Storage;
  issuer: pulumi.Input<string>;
  /** Secrets Manager secrets the rotation function may fill (declared service clients). */
  clientSecretArns: pulumi.Input<string>[];
  /** Build context (the repository root, where the Dockerfile is). */
  context: string;
  /** Secret header values the serving functions accept (CloudFront sends one of them). */
  originVerify: pulumi.Input<string>;
  /** The distribution whose /.well-known paths a key revocation invalidates. */
  distributionId: pulumi.Input<string>;
  distributionArn: pulumi.Input<string>;
}

/** The functions that serve HTTP (the `fn` of a route). */
export type ServingFunction = "api" | "users";

export class Router extends pulumi.ComponentResource {
  readonly imageUri: pulumi.Output<string>;
  readonly api: aws.lambda.Function;
  readonly users: aws.lambda.Function;
  readonly rotation: aws.lambda.Function;
  readonly apiRole: aws.iam.Role;
  readonly usersRole: aws.iam.Role;
  readonly rotationRole: aws.iam.Role;

  constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Router", name, {}, opts);
    const { config: cfg, storage } = args;

    const image = new RouterImage(`${name}`, {
      prefix: cfg.prefix,
      platform: cfg.architecture === "arm64" ? "linux/arm64" : "linux/amd64",
      root: args.context,
      protect: cfg.protect,
    }, { parent: this });
    this.imageUri = image.imageUri;

    const keyObjects = pulumi.interpolate`${storage.bucket.arn}/keys/*`;
    const secretObjects = pulumi.interpolate`${storage.bucket.arn}/secrets/*`;
    // X-Ray and the audit event bus, when config switches them on.
    const observability = observabilityStatements(cfg, aws.getCallerIdentityOutput({}, { parent: this }).accountId, stackRegion());
    const tableStatement: Statement = { Sid: "Table", Effect: "Allow", Action: TABLE_READ_WRITE, Resource: [storage.table.arn] };
    const logs = (group: aws.cloudwatch.LogGroup): Statement => ({
      Sid: "Logs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [pulumi.interpolate`${group.arn}:*`],
    });

    const apiLogs = this.#logGroup(`${name}-api`, `${cfg.prefix}-api`, cfg);
    const usersLogs = this.#logGroup(`${name}-users`, `${cfg.prefix}-users`, cfg);
    const rotationLogs = this.#logGroup(`${name}-rotation`, `${cfg.prefix}-rotation`, cfg);

    // Signing needs the private keys; client authentication needs the pepper (secrets/).
    const api = this.#role(`${name}-api`, [
      tableStatement,
      { Sid: "ReadKeyMaterial", Effect: "Allow", Action: ["s3:GetObject"], Resource: [keyObjects, secretObjects] },
      { Sid: "DecryptKeyMaterial", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [storage.key.arn] },
      logs(apiLogs),
      ...observability,
    ]);
    // /login signs tokens; no client secrets pass through the users function.
    const users = this.#role(`${name}-users`, [
      tableStatement,
      { Sid: "ReadKeyMaterial", Effect: "Allow", Action: ["s3:GetObject"], Resource: [keyObjects] },
      { Sid: "DecryptKeyMaterial", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [storage.key.arn] },
      logs(usersLogs),
      ...observability,
    ]);
    const rotationStatements: Statement[] = [
      tableStatement,
      { Sid: "WriteKeyMaterial", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [keyObjects, secretObjects] },
      // ensure-keys reads the pepper before creating it: without ListBucket, S3 answers a
      // missing object with 403 instead of 404 and the first deploy's hook fails.
      { Sid: "TellMissingFromForbidden", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [storage.bucket.arn] },
      // SSE-KMS writes need a data key and reads decrypt it; nothing calls kms:Encrypt.
      { Sid: "EncryptKeyMaterial", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [storage.key.arn] },
      { Sid: "PublishDocuments", Effect: "Allow", Action: ["s3:PutObject"], Resource: [pulumi.interpolate`${storage.documents.arn}/.well-known/*`] },
      { Sid: "InvalidateDocuments", Effect: "Allow", Action: ["cloudfront:CreateInvalidation"], Resource: [args.distributionArn] },
      logs(rotationLogs),
      ...observability,
    ];
    if (args.clientSecretArns.length) {
      rotationStatements.push({
        Sid: "DeliverClientCredentials",
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
        Resource: args.clientSecretArns,
      });
    }
    const rotation = this.#role(`${name}-rotation`, rotationStatements);
    this.apiRole = api.role;
    this.usersRole = users.role;
    this.rotationRole = rotation.role;

    const shared = {
      ...routerEnvironment(cfg),
      LATCHKEY_ISSUER: args.issuer,
      LATCHKEY_TABLE: storage.table.name,
      LATCHKEY_KEY_BUCKET: storage.bucket.bucket,
      LATCHKEY_KMS_KEY_ID: storage.key.arn,
    };
    const common = {
      packageType: "Image",
      imageUri: image.imageUri,
      architectures: [cfg.architecture],
      memorySize: cfg.memory,
      // Opt-in X-Ray active tracing (latchkey:tracing).
      ...(cfg.tracing ? { tracingConfig: { mode: "Active" } } : {}),
    };
    const serving = {
      ...common,
      // Every change publishes a version; the alias (infra/rollout.ts) decides which one serves.
      publish: true,
      timeout: cfg.timeout,
      environment: { variables: { ...shared, LATCHKEY_ORIGIN_VERIFY: args.originVerify } },
    };
    // Every function waits for its role's policy: the deploy hooks invoke them as soon as
    // they exist, and the first call must not be denied.
    this.api = new aws.lambda.Function(`${name}-api`, {
      ...serving,
      name: `${cfg.prefix}-api`,
      description: "Latchkey HTTP API: tokens, clients, validation, discovery",
      role: this.apiRole.arn,
      loggingConfig: { logFormat: "Text", logGroup: apiLogs.name },
    }, { parent: this, dependsOn: [apiLogs, api.policy] });
    this.users = new aws.lambda.Function(`${name}-users`, {
      ...serving,
      name: `${cfg.prefix}-users`,
      description: "Latchkey password routes and sign-in pages (argon2 work, apart from machine tokens)",
      role: this.usersRole.arn,
      loggingConfig: { logFormat: "Text", logGroup: usersLogs.name },
      ...(cfg.usersReservedConcurrency > 0 ? { reservedConcurrentExecutions: cfg.usersReservedConcurrency } : {}),
    }, { parent: this, dependsOn: [usersLogs, users.policy] });
    this.rotation = new aws.lambda.Function(`${name}-rotation`, {
      ...common,
      name: `${cfg.prefix}-rotation`,
      description: "Latchkey key rotation, ensure-keys, declared clients, static documents",
      role: this.rotationRole.arn,
      // RSA key generation and S3/DynamoDB round trips; generous but bounded.
      timeout: 60,
      environment: {
        variables: {
          ...shared,
          LATCHKEY_DOCUMENTS_BUCKET: storage.documents.bucket,
          LATCHKEY_DISTRIBUTION_ID: args.distributionId,
        },
      },
      loggingConfig: { logFormat: "Text", logGroup: rotationLogs.name },
    }, { parent: this, dependsOn: [rotationLogs, rotation.policy] });

    this.registerOutputs({ imageUri: this.imageUri, apiFunction: this.api.name, usersFunction: this.users.name, rotationFunction: this.rotation.name });
  }

  #logGroup(name: string, functionName: string, cfg: StackConfig): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(`${name}-logs`, {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: cfg.logRetentionDays,
    }, { parent: this });
  }

  #role(name: string, statements: Statement[]): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com") }, { parent: this });
    const policy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: policyDocument(statements) }, { parent: this });
    return { role, policy };
  }
}
