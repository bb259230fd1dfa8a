/**
 * An edge process of the chaos run: installs the clock skew of `CHAOS_CLOCK_SKEW_MS` (an edge
 * restarted with a clock that stepped back), then runs `deno task edge` with the given arguments.
 * Test harness only.
 *
 * @module
 */
import { installClockSkew } from "./clock_skew.ts";

installClockSkew(Number(Deno.env.get("CHAOS_CLOCK_SKEW_MS") ?? "0"));
const { main } = await import("../../edge/main.ts");
try {
  await main(Deno.args);
} catch (e) {
  console.error(`edge_child: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
