/**
 * The emulated SNS's signing key and the self-signed X.509 certificate it serves at its SigningCertURL. node:crypto
 * makes and uses keys but cannot write a certificate, so the certificate's DER is assembled here (RFC 5280, the few
 * fields a verifier reads) and signed with node:crypto; `X509Certificate` reads it back in the tests.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { snsSignatureDigest, snsStringToSign, type SnsMessage } from '../../../../common/sns-signature';

/** Stored in the service's state (plain strings), so a restarted emulator signs with the same key. */
export interface SigningKey {
  privateKeyPem: string;
  certificatePem: string;
  /** Names the certificate file, as SNS's `SimpleNotificationService-<hash>.pem`. */
  certificateId: string;
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
/** sha256WithRSAEncryption (1.2.840.113549.1.1.11) with its NULL parameters. */
const SHA256_WITH_RSA = seq(der(0x06, Buffer.from('2a864886f70d01010b', 'hex')), Buffer.from([0x05, 0x00]));

function name(commonName: string): Buffer {
  const cn = seq(der(0x06, Buffer.from('550403', 'hex')), der(0x0c, Buffer.from(commonName, 'utf8')));
  return seq(der(0x31, cn));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = new Date(ms).getUTCFullYear();
  return year < 2050 ? der(0x17, Buffer.from(`${digits.slice(2)}Z`, 'latin1')) : der(0x18, Buffer.from(`${digits}Z`, 'latin1'));
}

/** A fresh RSA key and a self-signed certificate valid from a day before `nowMs` for ten years. */
export function newSigningKey(nowMs: number, commonName = 'sns.amazonaws.com (emulated)'): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f; // a positive INTEGER
  const day = 86_400_000;
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // version 3
    der(0x02, serial),
    SHA256_WITH_RSA,
    name(commonName),
    seq(time(nowMs - day), time(nowMs + 3650 * day)),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = seq(tbs, SHA256_WITH_RSA, der(0x03, Buffer.concat([Buffer.from([0x00]), signature])));
  const body = certificate.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
    certificateId: createHash('md5').update(certificate).digest('hex'),
  };
}

/** The message's Signature: its string to sign, SHA1withRSA (version 1) or SHA256withRSA (version 2), base64. */
export function signSnsMessage(key: SigningKey, message: Omit<SnsMessage, 'Signature'>): string {
  const digest = snsSignatureDigest(message.SignatureVersion) ?? 'sha1';
  return sign(digest, Buffer.from(snsStringToSign(message), 'utf8'), key.privateKeyPem).toString('base64');
}
