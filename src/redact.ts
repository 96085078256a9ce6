/**
 * Removes secrets from text bound for people, logs or the database: every known secret value,
 * and the password of any URL (`scheme://user:password@host`). Applied where text leaves the
 * process and where vendor text enters it, since a vendor or a proxy may repeat what we sent.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would redact ordinary words; real secrets are long.
    if (secret && secret.length >= 6 && out.includes(secret)) out = out.split(secret).join("***");
  }
  return out.replace(URL_PASSWORD, "$1***@");
}

// "//user:" then the password, up to the last "@" of the authority (a password may hold "@" and
// quotes; the authority ends at "/", "?", "#" or whitespace). Redacting too much is the safe side.
const URL_PASSWORD = /(\/\/[^/?#@\s:]*:)[^/?#\s]*@/g;
