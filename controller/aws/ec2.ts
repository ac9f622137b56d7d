/**
 * Ec2Api: the EC2 calls gsi-controller makes (draft; implementation follows).
 */
export interface Ec2Api {
  readonly region: string
}
export interface Ec2ClientOptions {
  region: string
  /** Endpoint override, e.g. the EC2 emulator "http://127.0.0.1:4566". */
  endpoint?: string
}
