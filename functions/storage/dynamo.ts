/** Small DynamoDB helpers shared by the stores. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    "name" in err &&
    (err as { name: string }).name === "ConditionalCheckFailedException"
  );
}

/** Epoch seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
