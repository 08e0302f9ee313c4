export { startRelay, type RunningRelay } from "./main.ts";
export { parseConfig, helpText, DEFAULT_RELAY_CONFIG, type RelayConfig } from "./config.ts";
export type { SfuStats } from "./shell/sfu-shell.ts";
export { mintToken, type SigningKey, type TokenClaims } from "./signal/access-token.ts";
export { nativeAcceleratorFor, type NativeSendMode } from "./rtc/fast-send/native-accelerator.ts";
export { V8_FLAGS } from "./v8-flags.ts";
