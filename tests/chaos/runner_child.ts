/**
 * A runner process of the chaos run: installs the fault plan of `CHAOS_FAULTS` (JSON, see
 * `faults.ts`) and the clock skew of `CHAOS_CLOCK_SKEW_MS`, then runs `deno task runner` with the
 * given arguments. Test harness only.
 *
 * @module
 */
import { installFaults } from "./faults.ts";
import { installClockSkew } from "./clock_skew.ts";

installClockSkew(Number(Deno.env.get("CHAOS_CLOCK_SKEW_MS") ?? "0"));
const plan = Deno.env.get("CHAOS_FAULTS");
if (plan) installFaults(JSON.parse(plan));
const { main } = await import("../../batch/runner_main.ts");
try {
  await main(Deno.args);
} catch (e) {
  console.error(`runner_child: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
