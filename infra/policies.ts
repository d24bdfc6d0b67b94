/** IAM policy documents for the router's roles: least privilege, no wildcard actions. */
import * as pulumi from "@pulumi/pulumi";

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: pulumi.Input<string>[];
}

export function policyDocument(statements: Statement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

export function assumeRolePolicy(service: string, sourceAccount?: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        ...(sourceAccount ? { Condition: { StringEquals: { "aws:SourceAccount": sourceAccount } } } : {}),
      },
    ],
  });
}

/** Item-level table access used by both functions (no Scan: only the admin CLI lists). BatchGetItem: the revocation check reads its marks in one round trip. */
export const TABLE_READ_WRITE = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"];
