/**
 * The passphrase secrets manager of the `pulumi` stand-in, as pulumi/pulumi
 * `pkg/secrets/passphrase/manager.go` does it: the passphrase comes from PULUMI_CONFIG_PASSPHRASE
 * (even empty) or the file PULUMI_CONFIG_PASSPHRASE_FILE names (readPassphrase); a new stack gets
 * `encryptionsalt: v1:<salt>:<"pulumi" encrypted>` (NewPassphraseSecretsManager); a later run
 * checks the passphrase by decrypting that (symmetricCrypterFromPhraseAndState). The crypter is
 * `sdk/go/common/resource/config/crypt.go` symmetricCrypter: AES-256-GCM, a key from PBKDF2-SHA256
 * with 1,000,000 iterations, values `v1:<nonce>:<ciphertext and tag>` in base64.
 * Not covered: the prompt on a terminal (the stand-in fails as without one).
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

export const PASSPHRASE_UNSET =
  "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables";
/** errorCrypter's text (manager.go), which a wrong passphrase ends in. */
export const INCORRECT_PASSPHRASE =
  "incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase or set " +
  "PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase";

const ITERATIONS = 1_000_000;
const CHECK_TEXT = "pulumi";

/** readPassphrase with useEnv: the variable first, even empty; then the file, trimmed. */
export function readPassphrase(env: NodeJS.ProcessEnv): string {
  const phrase = env.PULUMI_CONFIG_PASSPHRASE;
  if (phrase !== undefined) return phrase;
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file) {
    try {
      return fs.readFileSync(path.resolve(file), "utf8").trim();
    } catch (err) {
      throw new Error(`unable to read PULUMI_CONFIG_PASSPHRASE_FILE: ${(err as Error).message}`);
    }
  }
  throw new Error(PASSPHRASE_UNSET);
}

export class Crypter {
  constructor(private readonly key: Buffer) {}

  static fromPassphrase(phrase: string, salt: Buffer): Crypter {
    return new Crypter(pbkdf2Sync(Buffer.from(phrase), salt, ITERATIONS, 32, "sha256"));
  }

  encrypt(value: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const sealed = Buffer.concat([
      cipher.update(value, "utf8"),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
  }

  /** Throws on a value this key did not encrypt. */
  decrypt(value: string): string {
    const parts = value.split(":");
    if (parts.length !== 3) throw new Error("bad value");
    if (parts[0] !== "v1") throw new Error("unknown value version");
    const nonce = Buffer.from(parts[1], "base64");
    const sealed = Buffer.from(parts[2], "base64");
    if (sealed.length < 16) throw new Error("bad value");
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - 16)),
      decipher.final(),
    ]).toString("utf8");
  }
}

/** A new stack's secrets state (its `encryptionsalt`) and crypter. */
export function newEncryptionSalt(phrase: string): { salt: string; crypter: Crypter } {
  const salt = randomBytes(8);
  const crypter = Crypter.fromPassphrase(phrase, salt);
  return { salt: `v1:${salt.toString("base64")}:${crypter.encrypt(CHECK_TEXT)}`, crypter };
}

/** The crypter for a stack's `encryptionsalt`; a wrong passphrase fails. */
export function crypterFor(phrase: string, state: string): Crypter {
  const parts = state.split(":");
  if (parts.length < 3) throw new Error("malformed state value");
  if (parts[0] !== "v1") throw new Error("unknown state version");
  const crypter = Crypter.fromPassphrase(phrase, Buffer.from(parts[1], "base64"));
  let check: string | undefined;
  try {
    check = crypter.decrypt(parts.slice(2).join(":"));
  } catch {
    check = undefined;
  }
  if (check !== CHECK_TEXT) throw new Error(INCORRECT_PASSPHRASE);
  return crypter;
}
