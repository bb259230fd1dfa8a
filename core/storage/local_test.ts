import { describeStorageContract } from "./contract.ts";
import { createLocalStorage } from "./local.ts";

describeStorageContract("local", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-storage-" });
  return {
    storage: createLocalStorage(`${dir}/root`),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});
