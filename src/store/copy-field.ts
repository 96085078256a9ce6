/** Building rows for COPY ... FROM STDIN (text format): the fastest way to load rows. */

const COPY_SPECIALS = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** A COPY text-format field: null is \N; backslash, tab and line breaks escaped (most values have none). */
export function copyField(value: string | null): string {
  if (value === null) return "\\N";
  return COPY_SPECIALS.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] as string) : value;
}
