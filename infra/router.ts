/**
 * The router: one container image (built from the Dockerfile with awsx) backing two Lambda
 * functions with their own least-privilege roles:
 * - api: serves HTTP; reads key material and the pepper, reads/writes the table.
 * - rotation: rotates keys, ensures keys and declared clients at deploy time; the only one
 *   that writes key material.
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";
import { routerEnvironment } from "./config.js";
import { assumeRolePolicy, policyDocument, TABLE_READ_WRITE, type Statement } from "./policies.js";
import type { Storage } from "./storage.js";
import { observabilityStatements, stackRegion } from "./monitoring.js";

export interface RouterArgs {
  config: StackConfig;
  storage: Storage;
  issuer: pulumi.Input<string>;
  /** Secrets Manager secrets the rotation function may fill (declared service clients). */
  clientSecretArns: pulumi.Input<string>[];
  /** Build context (the repository root, where the Dockerfile is). */
  context: string;
}

/**
 * Lambda runs a single-platform image manifest, not an image index. Docker buildx (which
 * awsx.ecr.Image drives, with no option to change this) attaches a provenance attestation by
 * default whenever the builder supports attestations (Docker Desktop's containerd store, a
 * docker-container builder), and that turns the pushed image into an index Lambda rejects
 * ("The image manifest, config or layer media type ... is not supported") after the whole
 * build. The build runs in the Docker provider, which inherits the environment of
 * `pulumi up`, so the switch has to be set there; this check makes a missing one fail at once.
 */
export function checkImageBuildEnvironment(env: Record<string, string | undefined>): void {
  const value = (env.BUILDX_NO_DEFAULT_ATTESTATIONS ?? "").toLowerCase();
  if (value !== "1" && value !== "true") {
    throw new Error(
      "set BUILDX_NO_DEFAULT_ATTESTATIONS=1 in the environment of `pulumi up` (export it, or prefix the command): " +
        "without it Docker attaches a provenance attestation and pushes an image index, which Lambda cannot run",
    );
  }
}

export class Router extends pulumi.ComponentResource {
  readonly imageUri: pulumi.Output<string>;
  readonly api: aws.lambda.Function;
  readonly rotation: aws.lambda.Function;
  readonly apiRole: aws.iam.Role;
  readonly rotationRole: aws.iam.Role;

  constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Router", name, {}, opts);
    const parent = { parent: this };
    const { config: cfg, storage } = args;

    const repository = new aws.ecr.Repository(`${name}-repo`, {
      name: `${cfg.prefix}-router`,
      // awsx.ecr.Image pushes every build under the same tag (a hash of the build inputs'
      // paths, not their contents), so the tag must be overwritable or the second deploy's
      // push fails. Nothing trusts the tag: the functions run the pushed digest.
      imageTagMutability: "MUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      forceDelete: !cfg.protect,
    }, parent);
    new aws.ecr.LifecyclePolicy(`${name}-repo-lifecycle`, {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [{ rulePriority: 1, description: "keep the last 20 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 20 }, action: { type: "expire" } }],
      }),
    }, parent);
    checkImageBuildEnvironment(process.env);
    const image = new awsx.ecr.Image(`${name}-image`, {
      repositoryUrl: repository.repositoryUrl,
      context: args.context,
      dockerfile: `${args.context}/Dockerfile`,
      platform: cfg.architecture === "arm64" ? "linux/arm64" : "linux/amd64",
    }, parent);
    this.imageUri = image.imageUri;

    const keyObjects = pulumi.interpolate`${storage.bucket.arn}/keys/*`;
    const secretObjects = pulumi.interpolate`${storage.bucket.arn}/secrets/*`;
    // X-Ray and the audit event bus, when config switches them on.
    const observability = observabilityStatements(cfg, aws.getCallerIdentityOutput({}, parent).accountId, stackRegion());
    const tableStatement: Statement = { Sid: "Table", Effect: "Allow", Action: TABLE_READ_WRITE, Resource: [storage.table.arn] };

    const apiLogs = this.#logGroup(`${name}-api`, `${cfg.prefix}-api`, cfg);
    const rotationLogs = this.#logGroup(`${name}-rotation`, `${cfg.prefix}-rotation`, cfg);

    const api = this.#role(`${name}-api`, [
      tableStatement,
      { Sid: "ReadKeyMaterial", Effect: "Allow", Action: ["s3:GetObject"], Resource: [keyObjects, secretObjects] },
      { Sid: "DecryptKeyMaterial", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [storage.key.arn] },
      { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [pulumi.interpolate`${apiLogs.arn}:*`] },
      ...observability,
    ]);
    const rotationStatements: Statement[] = [
      tableStatement,
      { Sid: "WriteKeyMaterial", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [keyObjects, secretObjects] },
      // ensure-keys reads the pepper before creating it: without ListBucket, S3 answers a
      // missing object with 403 instead of 404 and the first deploy's hook fails.
      { Sid: "TellMissingFromForbidden", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [storage.bucket.arn] },
      { Sid: "EncryptKeyMaterial", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: [storage.key.arn] },
      { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [pulumi.interpolate`${rotationLogs.arn}:*`] },
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
    this.rotationRole = rotation.role;

    const environment = {
      variables: {
        ...routerEnvironment(cfg),
        LATCHKEY_ISSUER: args.issuer,
        LATCHKEY_TABLE: storage.table.name,
        LATCHKEY_KEY_BUCKET: storage.bucket.bucket,
        LATCHKEY_KMS_KEY_ID: storage.key.arn,
      },
    };
    const common = {
      packageType: "Image",
      imageUri: image.imageUri,
      architectures: [cfg.architecture],
      memorySize: cfg.memory,
      environment,
      // Opt-in X-Ray active tracing (latchkey:tracing).
      ...(cfg.tracing ? { tracingConfig: { mode: "Active" } } : {}),
    };
    // Both functions wait for their role's policy: the deploy hook invokes the rotation
    // function as soon as it exists, and its first call must not be denied.
    this.api = new aws.lambda.Function(`${name}-api`, {
      ...common,
      name: `${cfg.prefix}-api`,
      description: "Latchkey HTTP API",
      role: this.apiRole.arn,
      timeout: cfg.timeout,
      loggingConfig: { logFormat: "Text", logGroup: apiLogs.name },
    }, { parent: this, dependsOn: [apiLogs, api.policy] });
    this.rotation = new aws.lambda.Function(`${name}-rotation`, {
      ...common,
      name: `${cfg.prefix}-rotation`,
      description: "Latchkey key rotation, ensure-keys and declared clients",
      role: this.rotationRole.arn,
      // RSA key generation and S3/DynamoDB round trips; generous but bounded.
      timeout: 60,
      loggingConfig: { logFormat: "Text", logGroup: rotationLogs.name },
    }, { parent: this, dependsOn: [rotationLogs, rotation.policy] });

    this.registerOutputs({ imageUri: this.imageUri, apiFunction: this.api.name, rotationFunction: this.rotation.name });
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
