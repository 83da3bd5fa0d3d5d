import { describe, expect, it } from "vitest";
import { Trash } from "./trash.js";
import { openTestStore } from "../../test/test-store.js";

describe("Trash", () => {
  it("hands each deletion out once per redelivery period, in bounded batches, until confirmed", async () => {
    const { store } = await openTestStore();
    const trash = new Trash(store, 1000);
    await store.write(() => {
      for (const id of ["a", "b", "c"]) trash.add("dn-1", id, 0);
      trash.add("dn-2", "a", 0);
      trash.add("dn-1", "a", 0); // once only
    });
    expect(trash.count()).toBe(4);
    expect(await store.write(() => trash.takeForHeartbeat("dn-1", 2, 100))).toEqual(["a", "b"]);
    expect(await store.write(() => trash.takeForHeartbeat("dn-1", 2, 200))).toEqual(["c"]);
    expect(await store.write(() => trash.takeForHeartbeat("dn-1", 10, 500))).toEqual([]);
    await store.write(() => trash.confirm("dn-1", ["a", "c"]));
    // Sent at 100 and never confirmed: sent again once the period has passed.
    expect(await store.write(() => trash.takeForHeartbeat("dn-1", 10, 1100))).toEqual(["b"]);
    expect(await store.write(() => trash.dropNode("dn-1"))).toBe(1);
    expect(trash.count()).toBe(1);
    expect(trash.has("dn-2", "a")).toBe(true);
  });
});
