import { join } from "node:path";

/** Written by `npm start`, read by the admin CLI: how to reach the running local instance. */
export const LOCAL_STATE_FILE = join(".latchkey", "local.json");
