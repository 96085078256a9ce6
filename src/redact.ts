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

// "//user:" then a password up to the "@" that ends the authority (no "/", whitespace or quote in it).
const URL_PASSWORD = /(\/\/[^/?#@\s:"']*:)[^/?#@\s"']+@/g;
