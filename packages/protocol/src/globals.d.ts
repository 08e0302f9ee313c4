// TextEncoder exists in every runtime the protocol runs in (browsers, Node, Deno) but in no ES lib.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
