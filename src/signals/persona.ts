import type { PersonaDefinition } from "../config/schema.ts";

export type PersonaMatcher = (user: { title: string | null; persona: string | null }) => string | null;

/**
 * The config's persona for a user: a `persona`/`role` trait naming one of a persona's
 * traitValues wins; else the first persona whose title pattern matches. Pure.
 */
export function personaMatcher(personas: readonly PersonaDefinition[]): PersonaMatcher {
  const compiled = personas.map((p) => ({
    key: p.key,
    values: new Set([p.key, ...p.traitValues].map((v) => v.toLowerCase())),
    patterns: p.titlePatterns.map((source) => new RegExp(source, "i")),
  }));
  return ({ title, persona }) => {
    const trait = persona?.trim().toLowerCase();
    if (trait) {
      const named = compiled.find((p) => p.values.has(trait));
      if (named) return named.key;
    }
    if (!title) return null;
    return compiled.find((p) => p.patterns.some((re) => re.test(title)))?.key ?? null;
  };
}
