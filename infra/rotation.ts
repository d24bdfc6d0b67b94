/**
 * Rotation, two triggers of the rotation function, both idempotent:
 * - an EventBridge Scheduler schedule (default every 30 days) sends `{"action":"rotate"}`.
 *   Scheduler invokes Lambda asynchronously, so its retry policy and dead-letter queue cover
 *   delivery only; a rotation that throws is retried by Lambda, then sent to the same queue.
 * - the deploy hook: an `aws.lambda.Invocation` of "ensure-keys" whose input carries the image
 *   digest, so every deploy of a new image (or any change to the function) re-checks the keyring
 *   and republishes the static /.well-known documents.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";
import { assumeRolePolicy, policyDocument } from "./policies.js";

export interface RotationArgs {
  config: StackConfig;
  rotationFunction: aws.lambda.Function;
  /** The rotation function's role: it needs to send its own failures to the queue. */
  rotationRole: aws.iam.Role;
  imageUri: pulumi.Input<string>;
  /** What ensure-keys needs besides the function (the key and bucket policies). */
  after?: pulumi.Resource[];
}

export class Rotation extends pulumi.ComponentResource {
  readonly schedule: aws.scheduler.Schedule;
  readonly deadLetters: aws.sqs.Queue;
  readonly failureAlarm: aws.cloudwatch.MetricAlarm;
  readonly ensureKeys: aws.lambda.Invocation;

  constructor(name: string, args: RotationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Rotation", name, {}, opts);
    const parent = { parent: this };
    const { config: cfg, rotationFunction } = args;
    const account = aws.getCallerIdentityOutput({}, parent).accountId;

    this.deadLetters = new aws.sqs.Queue(`${name}-dlq`, {
      name: `${cfg.prefix}-rotation-dlq`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    }, parent);
    const role = new aws.iam.Role(`${name}-scheduler-role`, {
      assumeRolePolicy: assumeRolePolicy("scheduler.amazonaws.com", account),
    }, parent);
    new aws.iam.RolePolicy(`${name}-scheduler-policy`, {
      role: role.id,
      policy: policyDocument([
        { Sid: "InvokeRotation", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [rotationFunction.arn] },
        { Sid: "DeadLetters", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [this.deadLetters.arn] },
      ]),
    }, parent);
    // Failed runs (the function threw, twice retried) land in the same queue as failed deliveries.
    const failuresPolicy = new aws.iam.RolePolicy(`${name}-failures-policy`, {
      role: args.rotationRole.id,
      policy: policyDocument([
        { Sid: "RotationFailures", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [this.deadLetters.arn] },
      ]),
    }, parent);
    new aws.lambda.FunctionEventInvokeConfig(`${name}-async`, {
      functionName: rotationFunction.name,
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 6 * 3600,
      destinationConfig: { onFailure: { destination: this.deadLetters.arn } },
    }, { parent: this, dependsOn: [failuresPolicy] });

    this.schedule = new aws.scheduler.Schedule(`${name}-schedule`, {
      name: `${cfg.prefix}-key-rotation`,
      description: "Rotates Latchkey signing keys",
      scheduleExpression: cfg.rotationRate,
      flexibleTimeWindow: { mode: "FLEXIBLE", maximumWindowInMinutes: 60 },
      target: {
        arn: rotationFunction.arn,
        roleArn: role.arn,
        input: JSON.stringify({ action: "rotate" }),
        retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 6 * 3600 },
        deadLetterConfig: { arn: this.deadLetters.arn },
      },
    }, parent);

    this.ensureKeys = new aws.lambda.Invocation(`${name}-ensure-keys`, {
      functionName: rotationFunction.name,
      input: pulumi.jsonStringify({
        action: "ensure-keys",
        // `<repository>@sha256:<digest>` (infra/image.ts): the digest names this exact build.
        imageDigest: pulumi.output(args.imageUri).apply((uri) => uri.split("@")[1] ?? uri),
        imageUri: args.imageUri,
      }),
      // Re-run for a new image, and for any other change to the function (its table, bucket,
      // key or key size in the environment): Lambda bumps lastModified on every update.
      triggers: { image: args.imageUri, functionLastModified: rotationFunction.lastModified },
    }, { parent: this, dependsOn: args.after ?? [] });

    // Anything in the dead-letter queue means a rotation failed for good: alarm on it, and
    // notify the topic from config when one is given.
    this.failureAlarm = new aws.cloudwatch.MetricAlarm(`${name}-dlq-alarm`, {
      name: `${cfg.prefix}-rotation-failed`,
      alarmDescription: "A Latchkey key rotation failed after retries; see the rotation DLQ and the rotation function's logs",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: this.deadLetters.name },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      ...(cfg.alarmTopicArn ? { alarmActions: [cfg.alarmTopicArn], okActions: [cfg.alarmTopicArn] } : {}),
    }, parent);

    this.registerOutputs({ scheduleName: this.schedule.name });
  }
}
