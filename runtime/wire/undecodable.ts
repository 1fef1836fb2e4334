/**
 * What a deserializer gives for bytes that are not a message of its type, instead of
 * throwing (a throw would end the call with INTERNAL "Error deserializing request" and
 * no ErrorDetail): the handler rejects it as MALFORMED (REQ-WIRE-014). A file of its
 * own, with no imports, so that the codec can ask without loading gRPC.
 */
export interface Undecodable {
  readonly undecodable: string;
}

export function isUndecodable(value: unknown): value is Undecodable {
  return typeof value === 'object' && value !== null && typeof (value as { undecodable?: unknown }).undecodable === 'string';
}
