// TextEncoder exists in every runtime the protocol runs in (browsers, Node, Deno) but in no ES lib.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
