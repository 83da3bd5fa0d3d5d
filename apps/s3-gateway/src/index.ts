export { S3Gateway } from "./s3-gateway.js";
export { loadS3GatewayConfig, s3GatewayConfigSchema, s3GatewayDefaults, S3_ENV_PREFIX, type S3Credential, type S3GatewayConfig } from "./config.js";
