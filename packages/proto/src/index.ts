// The one package of generated TrainFS messages and Connect service descriptors.
// Sources live in /proto; `pnpm run generate` rewrites ./gen with buf.
export * from "./gen/trainfs/v1/common_pb.js";
export * from "./gen/trainfs/v1/namenode_pb.js";
export * from "./gen/trainfs/v1/datanode_pb.js";
