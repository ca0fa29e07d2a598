/**
 * The signed part of an Amazon SNS HTTP/S message, as the SNS developer guide ("Verifying the signatures of Amazon
 * SNS messages") defines it: the emulated SNS signs with it, the gateway verifies with it.
 */

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** The JSON body SNS POSTs to an HTTP/S subscriber (members as SNS names them). */
export interface SnsMessage {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  /** Confirmations only. */
  Token?: string;
  SubscribeURL?: string;
  /** Notifications only. */
  UnsubscribeURL?: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** Keys in the documented order: a notification signs Subject only when it has one; confirmations sign SubscribeURL and Token. */
const SIGNED_KEYS: Record<SnsMessageType, readonly (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** `Key\nValue\n` for each signed key, in order; a missing optional key (Subject) is left out, name and all. */
export function snsStringToSign(message: Pick<SnsMessage, 'Type'> & Partial<Record<keyof SnsMessage, unknown>>): string {
  const keys = SIGNED_KEYS[message.Type];
  if (!keys) throw new Error(`unknown SNS message type ${String(message.Type)}`);
  let out = '';
  for (const key of keys) {
    const value = message[key];
    if (value === undefined || value === null) {
      if (key === 'Subject' && message.Type === 'Notification') continue;
      throw new Error(`an SNS ${message.Type} needs ${key}`);
    }
    out += `${key}\n${String(value)}\n`;
  }
  return out;
}

/** SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA (node:crypto digest names). */
export function snsSignatureDigest(version: string): 'sha1' | 'sha256' | undefined {
  return version === '1' ? 'sha1' : version === '2' ? 'sha256' : undefined;
}
