import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { FileInfoSchema } from "@trainfs/proto";
import { describe, expect, it } from "vitest";
import { encodeUtf8, useFastUtf8Encoder } from "./text-encoding.js";

const encoder = new TextEncoder();
const samples = ["", "a", "/data/shard-00017/img_0001.jpg", "x".repeat(128), "x".repeat(129), "é", "/données/ü", "😀 emoji", "lone \ud800 surrogate", "\u007f\u0080", "ascii then 中文"];

describe("the UTF-8 encoder protobuf-es uses", () => {
  it("gives TextEncoder's bytes for every string, short ASCII or not", () => {
    for (const s of samples) expect([...encodeUtf8(s, encoder)]).toEqual([...encoder.encode(s)]);
  });

  it("once installed, messages with any strings round-trip as before", () => {
    useFastUtf8Encoder();
    useFastUtf8Encoder();
    expect(getTextEncoding().encodeUtf8("/a/b")).toEqual(new Uint8Array([47, 97, 47, 98]));
    for (const s of samples) {
      const info = create(FileInfoSchema, { path: s, attributes: { [s || "k"]: s } });
      // As TextEncoder: a lone surrogate becomes U+FFFD.
      const back = s.replace("\ud800", "\ufffd");
      expect(fromBinary(FileInfoSchema, toBinary(FileInfoSchema, info))).toMatchObject({ path: back, attributes: { [back || "k"]: back } });
    }
  });
});
