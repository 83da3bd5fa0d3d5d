import { describe, expect, it } from "vitest";
import { checkPolicy } from "./post-object.js";

const policy = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString("base64");
const NOW = Date.parse("2026-06-01T00:00:00Z");
const LATER = "2026-06-01T01:00:00Z";
const form = (extra: Record<string, string> = {}) => new Map(Object.entries({ bucket: "b", key: "up/a.jpg", "content-type": "image/jpeg", ...extra }));

describe("POST policies", () => {
  it("holds when every condition is met and every field named; gives the content-length-range", () => {
    const conditions = [{ bucket: "b" }, ["starts-with", "$key", "up/"], ["eq", "$Content-Type", "image/jpeg"], ["content-length-range", 10, 100]];
    expect(checkPolicy(policy({ expiration: LATER, conditions }), form(), NOW)).toEqual({ min: 10, max: 100 });
    // Signature, file, policy and x-ignore-* fields need no condition.
    expect(() => checkPolicy(policy({ expiration: LATER, conditions }), form({ "x-amz-signature": "s", policy: "p", "x-ignore-me": "1" }), NOW)).not.toThrow();
  });

  it("refuses an expired policy, a failed condition, a field no condition names, and a policy without a key condition", () => {
    const conditions = [{ bucket: "b" }, ["starts-with", "$key", "up/"], { "content-type": "image/jpeg" }];
    expect(() => checkPolicy(policy({ expiration: "2026-05-31T23:59:59Z", conditions }), form(), NOW)).toThrow(expect.objectContaining({ code: "AccessDenied", message: expect.stringContaining("expired") }));
    expect(() => checkPolicy(policy({ expiration: LATER, conditions }), form({ key: "down/a.jpg" }), NOW)).toThrow(expect.objectContaining({ code: "AccessDenied", message: expect.stringContaining("$key") }));
    expect(() => checkPolicy(policy({ expiration: LATER, conditions }), form({ bucket: "other" }), NOW)).toThrow(expect.objectContaining({ code: "AccessDenied" }));
    expect(() => checkPolicy(policy({ expiration: LATER, conditions }), form({ "x-amz-meta-a": "1" }), NOW)).toThrow(expect.objectContaining({ message: expect.stringContaining("Extra input fields: x-amz-meta-a") }));
    expect(() => checkPolicy(policy({ expiration: LATER, conditions: [{ bucket: "b" }, { "content-type": "image/jpeg" }] }), form(), NOW)).toThrow(expect.objectContaining({ code: "AccessDenied" }));
  });

  it("refuses what is not a policy", () => {
    for (const text of ["not base64 json", policy({ conditions: [] }), policy({ expiration: LATER, conditions: [["matches", "$key", ".*"]] }), policy({ expiration: LATER, conditions: [["content-length-range", 10, 1]] })]) {
      expect(() => checkPolicy(text, form(), NOW), text).toThrow(expect.objectContaining({ code: "InvalidPolicyDocument" }));
    }
  });
});
